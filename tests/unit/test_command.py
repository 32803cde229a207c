"""Reading a command line as a learner typed it: wrappers, aliases, pipes, JSON flags."""

from __future__ import annotations

import pytest

from labkit import ParseError
from labkit.parsers._command import read_command


@pytest.mark.parametrize(
    "typed",
    [
        "cilium-dbg bpf lb list",
        "cilium bpf lb list",
        "c0 bpf lb list",
        "kubectl -n kube-system exec ds/cilium -c cilium-agent -- cilium-dbg bpf lb list",
        "kubectl exec -it cilium-x7 -n kube-system -c cilium-agent -- cilium bpf lb list",
        "sudo /usr/bin/cilium-dbg bpf lb list",
    ],
)
def test_every_way_of_typing_bpf_lb_list_reads_the_same(typed):
    inv = read_command(typed)
    assert inv.program == "cilium"
    assert inv.words == ("bpf", "lb", "list")


def test_pipe_through_grep_marks_the_output_filtered():
    inv = read_command("c0 map get cilium_ipcache | grep $WEBPOD1IP")
    assert inv.words == ("map", "get", "cilium_ipcache")
    assert inv.filtered and inv.filters[0][0] == "grep"


def test_sh_c_is_unwrapped_with_its_quoted_arguments():
    inv = read_command("kubectl exec netpod -- sh -c \"ngrep -tW byline -d eth0 '' 'tcp port 80'\"")
    assert inv.program == "ngrep"
    assert inv.value("-d") == "eth0"


def test_seed_pod_alias_runs_the_command_itself():
    assert read_command("p0 ip -c neigh").words == ("neigh",)


@pytest.mark.parametrize(
    ("typed", "words"),
    [("ip a", ("addr",)), ("ip -br -c addr", ("addr",)), ("ip r", ("route",)),
     ("ip -c neigh", ("neigh",)), ("ip l", ("link",)), ("ip -4 address show dev eth0",
                                                        ("addr", "show", "dev", "eth0"))],
)
def test_ip_object_abbreviations_are_expanded(typed, words):
    assert read_command(typed).words == words


@pytest.mark.parametrize(
    ("typed", "json"),
    [("cilium service list -o json", True), ("cilium service list -ojson", True),
     ("cilium-dbg status --output=json", True), ("bpftool -j net show", True),
     ("bpftool -jp prog show", True), ("bpftool net show", False), ("ip -j addr", True),
     ("hubble observe -o jsonpb", True), ("hubble observe", False),
     ("kubectl get node -o wide", False), ("bpftool map list --bpffs -j | jq '.[]'", True),
     ("cilium monitor -j", True), ("cilium-dbg monitor --json --type drop", True),
     ("c0 monitor -v -j -t trace", True), ("cilium monitor -vj", True),
     ("cilium monitor -v", False)],
)
def test_json_is_recognised_in_each_tools_own_spelling(typed, json):
    assert read_command(typed).wants_json is json


def test_getopt_flags_combine_for_strace_but_not_for_ip():
    assert read_command("strace -fc curl -s 10.0.0.1").has("-c")
    assert not read_command("ip -br addr").has("-b")


def test_first_command_of_a_sequence_is_the_one_read():
    inv = read_command("ip -c addr show cilium_net ; ip -c addr show cilium_host")
    assert inv.words == ("addr", "show", "cilium_net")


@pytest.mark.parametrize("pipe", ["awk '{print $1}'", "wc -l", "sed s/a/b/"])
def test_a_pipe_that_rewrites_lines_is_refused_with_a_reason(pipe):
    with pytest.raises(ParseError, match="changes its lines"):
        read_command(f"cilium bpf lb list | {pipe}")


def test_unbalanced_quotes_are_a_parse_error_naming_the_fix():
    with pytest.raises(ParseError, match="quotes"):
        read_command("cilium map get 'cilium_ipcache")


def test_empty_command_is_a_parse_error():
    with pytest.raises(ParseError, match="empty"):
        read_command("   ")


def test_kubectl_yaml_goes_to_the_parsers_that_read_objects():
    assert read_command("kubectl get pods -o yaml").wants_json
    assert not read_command("cilium status -o yaml").wants_json
