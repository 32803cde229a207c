"""The seed's Helm values as a table: each value explained by the comment above it, beside
the agent setting it becomes; the config an upgrade would give."""

from __future__ import annotations

import pandas as pd
import pytest

from labkit import values
from labkit.errors import LabError

TEXT = """\
# A header about the file.

# The API server.
k8sServiceHost: 192.168.10.10
k8sServicePort: 6443

bpf:
  # Masquerading in eBPF.
  masquerade: true
hubble:
  # Relay and UI.
  relay:
    enabled: true
  ui:
    enabled: true
  metrics:
    enabled:
      - dns
      - drop
"""


def test_a_comment_explains_the_values_under_it_until_a_blank_line():
    said = values.comments(TEXT)
    assert said["k8sServiceHost"] == "The API server."
    assert said["k8sServicePort"] == "The API server."
    assert said["bpf"] == "", "the blank line ended the previous comment"
    assert said["bpf.masquerade"] == "Masquerading in eBPF."
    assert said["hubble.ui.enabled"] == "Relay and UI."


def test_seed_values_have_a_row_per_value_with_what_it_does(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(TEXT)
    table = values.seed_values(path).set_index("key")
    assert table.loc["hubble.metrics.enabled", "value"] == "dns, drop"
    assert table.loc["bpf.masquerade", "value"] == "true"
    assert table.loc["bpf.masquerade", "config_key"] == "enable-bpf-masquerade"
    assert table.loc["k8sServicePort", "what_it_does"] == "The API server."


def test_the_repositorys_values_explain_every_value_and_name_its_setting():
    table = values.seed_values()
    assert len(table) >= 20
    assert (table["what_it_does"] != "").all(), table[table["what_it_does"] == ""]["key"]
    assert set(table["key"]) <= set(values.CONFIG_KEYS)
    assert table.set_index("key").loc["kubeProxyReplacement", "value"] == "true"


def test_the_helm_command_sets_each_value_and_lists_in_braces(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(TEXT)
    command = values.helm_command(values.seed_values(path))
    assert command.startswith("helm install cilium cilium/cilium --version 1.16.3")
    assert "  --set k8sServiceHost=192.168.10.10 \\\n" in command
    assert command.endswith('--set hubble.metrics.enabled="{dns,drop}"')


def test_missing_values_file_says_where_it_was_looked_for(tmp_path):
    with pytest.raises(LabError, match="infra/cilium/values.yaml"):
        values.seed_values(tmp_path / "nothere.yaml")


CONFIG = pd.DataFrame({"key": ["routing-mode", "kube-proxy-replacement"],
                       "value": ["native", "true"]})


def test_in_force_puts_this_labs_setting_beside_each_value():
    seed = pd.DataFrame({"key": ["routingMode", "bpf.masquerade", "hubble.ui.enabled"],
                         "value": ["native", "true", "true"], "what_it_does": ["", "", ""],
                         "config_key": ["routing-mode", "enable-bpf-masquerade", None]})
    lab = values.in_force(seed, CONFIG).set_index("key")["this_lab"]
    assert lab.to_dict() == {"routingMode": "native",
                             "bpf.masquerade": "(not set on this lab)",
                             "hubble.ui.enabled": "(not an agent setting)"}


def test_an_upgrade_preview_and_its_diff_show_the_setting_the_value_changes():
    after = values.upgrade_preview(CONFIG, {"ipMasqAgent.enabled": True})
    diff = values.config_diff(CONFIG, after)
    assert diff.to_dict("records") == [
        {"key": "enable-ip-masq-agent", "before": None, "after": "true"}]
    assert values.config_diff(CONFIG, CONFIG).empty


def test_an_upgrade_of_a_value_that_is_no_agent_setting_says_so():
    with pytest.raises(LabError, match="hubble.ui.enabled"):
        values.upgrade_preview(CONFIG, {"hubble.ui.enabled": False})
