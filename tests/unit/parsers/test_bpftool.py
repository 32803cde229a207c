"""bpftool parsers: net, prog show, map show, map dump, cgroup tree (text and JSON).

Fixtures: the seed (Cilium 1.16.3), the real outputs in ../shared/real-outputs, and outputs
captured with bpftool v7.1.0 on the labkit dev machine (tests/fixtures/local/bpftool-*).
"""

from __future__ import annotations

import pandas as pd
import pytest

import labkit
from labkit import ParseError
from labkit.parsers import bpftool
from tests.outputs import real, real_ids, seed
from tests.unit.parsers.helpers import local, parsed

# --- net ---------------------------------------------------------------------------------------


def test_net_show_reads_grep_filtered_tcx_lines_without_section_header():
    df = parsed(seed("bpftool-net-show-grep-lxc"))
    assert df.attrs["parser"] == "bpftool_net_show"
    assert df["kind"].tolist() == ["tcx/ingress", "tcx/egress"]
    assert df["prog_name"].tolist() == ["cil_from_container", "cil_to_container"]
    assert df["prog_id"].tolist() == [1529, 1531]
    assert df["link_id"].tolist() == [26, 27]
    assert (df["devname"] == "lxc335e04832afa").all()
    assert (df["ifindex"] == 12).all()
    assert (df["section"] == "tc").all()
    assert df["prog_id"].dtype == "Int64"


def test_net_show_reads_legacy_clsact_lines_with_object_file_names():
    df = parsed(real("bpftool-net-show/tkng-kind-v1.9-tc-legacy.txt"))
    assert len(df) == 11
    row = df[df["prog_id"] == 2806].iloc[0]
    assert row["devname"] == "lxcdae72534e167"
    assert row["ifindex"] == 20
    assert row["kind"] == "clsact/ingress"
    assert row["prog_name"] == "bpf_lxc.o:[from-container]"
    assert df["link_id"].isna().all()


def test_net_show_puts_xdp_and_tc_in_their_sections():
    df = parsed(real("bpftool-net-show/manpage-bpftool-net.txt"))
    assert df["section"].tolist() == ["xdp"] + ["tc"] * 5
    assert df.iloc[0][["kind", "prog_id"]].tolist() == ["driver", 198]
    assert df.iloc[1]["kind"] == "htb"
    assert df.iloc[1]["prog_name"] == "prefix_matcher.o:[cls_prefix_matcher_htb]"


def test_net_show_reads_tcx_without_link_id():
    df = parsed(real("bpftool-net-show/manpage-bpftool-net-tcx.txt"))
    assert df.iloc[0][["devname", "kind", "prog_name", "prog_id"]].tolist() == [
        "lo", "tcx/ingress", "tc_prog", 29]
    assert pd.isna(df.iloc[0]["link_id"])


def test_net_show_json_man_page_sample_is_invalid_json_and_raises():
    out = real("bpftool-net-show/manpage-bpftool-jp-net-INVALID-JSON.json")
    with pytest.raises(ParseError, match="not valid JSON"):
        parsed(out)


def test_net_show_json_gives_the_text_columns():
    fixed = real("bpftool-net-show/manpage-bpftool-jp-net-INVALID-JSON.json").text.replace(
        ",\n            },{", "\n            },{").replace("130245,\n", "130245\n")
    df = labkit.parse("bpftool -jp net", fixed)
    text = parsed(real("bpftool-net-show/manpage-bpftool-net.txt"))
    assert list(df.columns) == list(text.columns)
    assert df[["section", "kind", "prog_name", "prog_id"]].equals(
        text[["section", "kind", "prog_name", "prog_id"]])


def test_net_show_json_reads_tcx_prog_id_and_link_id():
    tcx = ('[{"xdp":[],"tc":[{"devname":"lxc1","ifindex":14,"kind":"tcx/ingress",'
           '"name":"cil_from_container","prog_id":1595,"prog_flags":[],"link_id":24,'
           '"link_flags":[]}],"flow_dissector":[],"netfilter":[]}]')
    df = labkit.parse("bpftool -j net show", tcx)
    assert df.iloc[0][["kind", "prog_name", "prog_id", "link_id"]].tolist() == [
        "tcx/ingress", "cil_from_container", 1595, 24]


@pytest.mark.parametrize("name", ["bpftool-net-show-empty.txt", "bpftool-j-net-show-empty.json"])
def test_net_show_on_a_machine_without_attachments_gives_no_rows(name):
    df = parsed(local(name))
    assert len(df) == 0
    assert "prog_id" in df.columns


def test_net_show_reads_flow_dissector_and_netfilter_sections():
    text = ("xdp:\n\ntc:\n\nflow_dissector:\nid 7\n\n"
            "netfilter:\n\tipv4 prerouting prio -128 prog_id 9\n")
    df = bpftool.bpftool_net_show(text)
    assert df["section"].tolist() == ["flow_dissector", "netfilter"]
    assert df["prog_id"].tolist() == [7, 9]
    assert df.iloc[1]["kind"] == "ipv4 prerouting"
    assert df.iloc[1]["priority"] == -128


def test_net_show_error_quotes_the_line_and_its_number():
    with pytest.raises(ParseError) as e:
        bpftool.bpftool_net_show("tc:\nlxc1(12) tcx/ingress cil prog_id 5\nthis is not bpftool\n")
    assert e.value.line_number == 3
    assert e.value.line == "this is not bpftool"


def test_bpftool_error_message_raises_parse_error():
    with pytest.raises(ParseError, match="bpftool reported an error"):
        bpftool.bpftool_net_show("Error: can't get next link: Operation not permitted")


@pytest.mark.parametrize("name", real_ids("bpftool-net-show"))
def test_every_real_net_show_output_parses_or_is_the_invalid_man_page_json(name):
    out = real(f"bpftool-net-show/{name}")
    if "INVALID-JSON" in name:
        with pytest.raises(ParseError):
            parsed(out)
        return
    df = parsed(out)
    assert len(df) >= 1
    assert df["prog_id"].notna().all()
    assert df["ifindex"].dtype == "Int64"


# --- prog show ---------------------------------------------------------------------------------


def test_prog_show_reads_the_seed_program():
    df = parsed(seed("bpftool-prog-show-id"))
    row = df.iloc[0]
    assert len(df) == 1
    assert (row["id"], row["type"], row["name"]) == (1531, "sched_cls", "cil_to_container")
    assert row["tag"] == "3f1e92871a2c4013"
    assert row["gpl"] is True or bool(row["gpl"])
    assert row["loaded_at"] == pd.Timestamp("2024-10-20T07:47:27Z")
    assert (row["uid"], row["bytes_xlated"], row["bytes_jited"]) == (0, 1712, 1015)
    assert bool(row["jited"])
    assert row["bytes_memlock"] == 4096
    assert row["map_ids"] == [66, 239]
    assert row["btf_id"] == 474


def test_prog_show_reads_unnamed_old_programs():
    df = parsed(real("bpftool-prog-show/tkng-kind-v1.9-prog-id.txt"))
    assert df.iloc[0]["name"] is None
    assert len(df.iloc[0]["map_ids"]) == 18
    assert df.iloc[0]["map_ids"][6] == 338


def test_prog_show_text_and_json_agree_on_the_man_page_program():
    text = parsed(real("bpftool-prog-show/manpage-bpftool-prog-show.txt")).iloc[0]
    js = parsed(real("bpftool-prog-show/manpage-bpftool-json-pretty-prog-show.json")).iloc[0]
    for column in ["id", "type", "tag", "gpl", "loaded_at", "uid", "bytes_xlated", "jited",
                   "bytes_jited", "bytes_memlock", "map_ids", "pids", "run_time_ns", "run_cnt"]:
        assert text[column] == js[column], column
    assert text["pids"] == [{"pid": 1, "comm": "systemd"}]
    assert (text["run_time_ns"], text["run_cnt"]) == (81632, 10)


def test_prog_show_reads_not_jited_pinned_and_metadata_lines():
    text = ("12: xdp  name x  tag 00ff00ff00ff00ff\n"
            "\tloaded_at 2025-01-01T00:00:00+0000  uid 0\n"
            "\txlated 16B  not jited  memlock 4096B  map_ids 3\n"
            "\tpinned /sys/fs/bpf/x\n"
            "\tbtf_id 9\n"
            "\tmetadata:\n"
            "\t\tversion = 2\n")
    row = bpftool.bpftool_prog_show(text).iloc[0]
    assert not row["gpl"]
    assert not row["jited"]
    assert pd.isna(row["bytes_jited"])
    assert row["pinned"] == ["/sys/fs/bpf/x"]
    assert row["metadata"] == {"version": "2"}


def test_prog_show_rejects_an_unknown_detail():
    with pytest.raises(ParseError) as e:
        bpftool.bpftool_prog_show("1: xdp  tag 0011223344556677  gpl\n\tfrobs 3\n")
    assert e.value.line_number == 2
    assert "frobs" in str(e.value)


@pytest.mark.parametrize("name", ["bpftool-prog-show-empty.txt",
                                  "bpftool-j-prog-show-empty.json"])
def test_prog_show_with_no_programs_gives_the_columns(name):
    df = parsed(local(name))
    assert len(df) == 0
    assert list(df.columns) == list(bpftool.bpftool_prog_show("").columns)


@pytest.mark.parametrize("name", real_ids("bpftool-prog-show"))
def test_every_real_prog_show_output_parses(name):
    df = parsed(real(f"bpftool-prog-show/{name}"))
    assert len(df) == 1
    assert pd.api.types.is_datetime64_any_dtype(df["loaded_at"])
    assert str(df["loaded_at"].dt.tz) == "UTC"
    assert df["bytes_xlated"].iloc[0] > 0


# --- map show ----------------------------------------------------------------------------------


def test_map_list_reads_the_seed_maps_with_prog_array_owner():
    df = parsed(seed("bpftool-map-list"))
    assert df["id"].tolist() == [66, 239]
    metrics, calls = df.iloc[0], df.iloc[1]
    assert (metrics["type"], metrics["name"], metrics["flags"]) == ("percpu_hash",
                                                                   "cilium_metrics", 1)
    assert (metrics["bytes_key"], metrics["bytes_value"], metrics["max_entries"]) == (8, 16, 1024)
    assert metrics["bytes_memlock"] == 19384
    assert (calls["type"], calls["owner_prog_type"]) == ("prog_array", "sched_cls")
    assert bool(calls["owner_jited"])
    assert pd.isna(metrics["owner_jited"])


def test_map_list_text_and_json_agree_on_this_machine():
    text = parsed(local("bpftool-bpffs-map-list.txt"))
    js = parsed(local("bpftool-j-bpffs-map-list.json"))
    pd.testing.assert_frame_equal(text, js, check_like=False)
    assert text["pinned"].tolist() == [["/sys/fs/bpf/labkit_fixture"],
                                       ["/sys/fs/bpf/labkit_fixture_pcpu"]]


def test_map_show_id_reads_frozen_and_single_json_object():
    text = parsed(local("bpftool-map-show-id-frozen.txt"))
    js = parsed(local("bpftool-j-map-show-id-frozen.json"))
    assert bool(text.iloc[0]["frozen"]) and bool(js.iloc[0]["frozen"])
    pd.testing.assert_frame_equal(text, js)


def test_map_show_reads_the_jq_stream_of_lpm_trie_objects():
    df = parsed(real("bpftool-map-show/tkng-bpffs-json-lpm-trie-via-jq.json"))
    assert len(df) == 6
    assert (df["type"] == "lpm_trie").all()
    ipcache = df[df["id"] == 338].iloc[0]
    assert ipcache["pinned"] == ["/sys/fs/bpf/tc/globals/cilium_ipcache"]
    assert (ipcache["bytes_key"], ipcache["max_entries"]) == (24, 512000)
    assert not df["frozen"].any()


def test_map_show_reads_btf_id_frozen_and_pids_lines():
    text = ("5: hash  name m  flags 0x1\n\tkey 4B  value 4B  max_entries 1  memlock 8B\n"
            "\tbtf_id 7  frozen\n\tpids cilium-agent(712), bpftool(9)\n")
    row = bpftool.bpftool_map_show(text).iloc[0]
    assert row["btf_id"] == 7
    assert bool(row["frozen"])
    assert row["pids"] == [{"pid": 712, "comm": "cilium-agent"}, {"pid": 9, "comm": "bpftool"}]


def test_map_show_error_quotes_line():
    with pytest.raises(ParseError) as e:
        bpftool.bpftool_map_show("5: hash  name m  flags 0x1\nkey 4B value 4B\n")
    assert e.value.line_number == 2


@pytest.mark.parametrize("name", real_ids("bpftool-map-show"))
def test_every_real_map_show_output_parses(name):
    df = parsed(real(f"bpftool-map-show/{name}"))
    assert len(df) >= 1
    assert df["max_entries"].notna().all()
    assert df["flags"].dtype == "Int64"


# --- map dump ----------------------------------------------------------------------------------


def test_map_dump_reads_single_line_entries_and_found_trailer():
    df = parsed(real("bpftool-map-dump/v1.9-10-era-issue16736-prog-array-hex.txt"))
    assert df["key"].tolist() == ["01 00 00 00", "06 00 00 00", "0f 00 00 00", "11 00 00 00"]
    assert df.iloc[0]["value"] == "60 05 00 00"


def test_map_dump_joins_multi_line_key_and_value_blocks():
    df = parsed(real("bpftool-map-dump/tkng-ipcache-hex-head5.txt"))
    assert len(df) == 1
    assert df.iloc[0]["key"] == ("40 00 00 00 00 00 00 01 0a 00 00 b9 00 00 00 00 "
                                 "00 00 00 00 00 00 00 00")
    assert df.iloc[0]["value"] == "fe 6f 00 00 00 00 00 00 00 00 00 00"


def test_map_dump_reads_btf_typed_dump_printed_as_json_without_j():
    df = parsed(real("bpftool-map-dump/l2-doc-btf-pinned.txt"))
    assert df.attrs["parser"] == "bpftool_map_dump"
    assert df.iloc[0]["formatted_key"] == {"ip4": 655370, "ifindex": 50}
    assert df.iloc[0]["formatted_value"] == {"responses_sent": 20}
    assert df.iloc[0]["key"] is None


def test_map_dump_reads_btf_bitfields_printed_as_bare_hex():
    df = bpftool.bpftool_map_dump('[{"key": {"a": 0x1f}, "value": {"s": "0x2 in text"}}]')
    assert df.iloc[0]["formatted_key"] == {"a": 31}
    assert df.iloc[0]["formatted_value"] == {"s": "0x2 in text"}


@pytest.mark.parametrize(("text", "js"), [
    ("bpftool-map-dump-pinned-hash.txt", "bpftool-j-map-dump-pinned-hash.json"),
    ("bpftool-map-dump-pinned-hash.txt", "bpftool-p-map-dump-name-hash.json"),
    ("bpftool-map-dump-pinned-percpu.txt", "bpftool-j-map-dump-pinned-percpu.json"),
    ("bpftool-map-dump-id-array.txt", "bpftool-j-map-dump-id-array.json"),
])
def test_map_dump_text_and_json_agree_on_this_machine(text, js):
    pd.testing.assert_frame_equal(parsed(local(text)), parsed(local(js)))


def test_map_dump_reads_per_cpu_values_in_cpu_order():
    df = parsed(local("bpftool-map-dump-pinned-percpu.txt"))
    assert df.iloc[0]["key"] == "07 00 00 00"
    assert df.iloc[0]["values"] == ["01 00 00 00", "01 00 00 00"]
    assert df.iloc[0]["value"] is None


def test_map_dump_reads_no_entry_and_inner_map_id():
    df = bpftool.bpftool_map_dump("key: 01 00 00 00  value: <no entry>\n"
                                  "key: 02 00 00 00  inner_map_id: 17 \nFound 1 element\n")
    assert df.iloc[0]["error"] == "<no entry>"
    assert df.iloc[1]["inner_map_id"] == 17


def test_map_dump_rejects_stray_text_with_its_line_number():
    with pytest.raises(ParseError) as e:
        bpftool.bpftool_map_dump("key: 01 00 00 00  value: 02 00 00 00\nbogus line\n")
    assert e.value.line_number == 2
    assert e.value.line == "bogus line"


def test_map_dump_of_an_empty_map_gives_the_columns():
    df = bpftool.bpftool_map_dump("Found 0 elements\n")
    assert len(df) == 0
    assert list(df.columns) == ["key", "value", "values", "inner_map_id", "formatted_key",
                                "formatted_value", "error"]


@pytest.mark.parametrize("name", real_ids("bpftool-map-dump"))
def test_every_real_map_dump_output_parses(name):
    df = parsed(real(f"bpftool-map-dump/{name}"))
    assert len(df) >= 1
    assert (df["key"].notna() | df["formatted_key"].notna()).all()


# --- cgroup tree -------------------------------------------------------------------------------


def test_cgroup_tree_reads_empty_attach_flags_cells_by_word_not_position():
    df = parsed(seed("bpftool-cgroup-tree"))
    assert df["id"].tolist() == [1081, 1498, 1501]
    assert df["attach_type"].tolist() == ["cgroup_device", "tcx_ingress", "tcx_egress"]
    assert df["attach_flags"].tolist() == ["multi", "", ""]
    assert df["name"].tolist() == [None, "cil_to_host", "cil_from_host"]
    assert (df["cgroup"] == "/sys/fs/cgroup").all()


def test_cgroup_tree_hook_names_old_and_new_bpftool_alike():
    old = parsed(real("bpftool-cgroup-tree/tkng-kind-v1.10.txt"))
    assert old["hook"].tolist()[:2] == ["connect4", "connect6"]
    assert bpftool.cgroup_hook("cgroup_inet4_connect") == "connect4"
    assert bpftool.cgroup_hook("cgroup_udp6_recvmsg") == "recvmsg6"
    assert bpftool.cgroup_hook("cgroup_inet6_getpeername") == "getpeername6"
    assert bpftool.cgroup_hook("cgroup_device") == "device"
    new = bpftool.bpftool_cgroup_tree(
        "CgroupPath\nID       AttachType      AttachFlags     Name\n/run/cilium/cgroupv2\n"
        "4123     cgroup_inet4_connect multi           cil_sock4_connect\n")
    assert new.iloc[0][["attach_type", "hook", "attach_flags", "name"]].tolist() == [
        "cgroup_inet4_connect", "connect4", "multi", "cil_sock4_connect"]


def test_cgroup_list_has_no_cgroup_path():
    df = parsed(real("bpftool-cgroup-tree/manpage-bpftool-cgroup-list.txt"))
    assert df.iloc[0][["id", "attach_type", "attach_flags", "name"]].tolist() == [
        1, "device", "allow_multi", "bpf_prog1"]
    assert df.iloc[0]["cgroup"] is None


def test_cgroup_tree_json_gives_the_text_columns():
    js = ('[{"cgroup":"/sys/fs/cgroup","programs":[{"id":1081,"attach_type":"cgroup_device",'
          '"attach_flags":"multi","name":"","attach_btf_obj_id":0,"attach_btf_id":0},'
          '{"id":1498,"attach_type":"tcx_ingress","attach_flags":"","name":"cil_to_host",'
          '"attach_btf_obj_id":0,"attach_btf_id":0}]}]')
    df = labkit.parse("bpftool -j cgroup tree", js)
    text = parsed(seed("bpftool-cgroup-tree")).iloc[:2].reset_index(drop=True)
    pd.testing.assert_frame_equal(df, text)


def test_cgroup_list_json_error_object_raises_with_bpftools_message():
    with pytest.raises(ParseError, match="Bad file descriptor"):
        parsed(local("bpftool-j-cgroup-list-error.json"))


@pytest.mark.parametrize("name", ["bpftool-cgroup-tree-empty.txt",
                                  "bpftool-j-cgroup-tree-empty.json"])
def test_cgroup_tree_with_nothing_attached_gives_no_rows(name):
    assert len(parsed(local(name))) == 0


def test_cgroup_tree_error_quotes_line():
    with pytest.raises(ParseError) as e:
        bpftool.bpftool_cgroup_tree("CgroupPath\nnot a row\n")
    assert e.value.line_number == 2


@pytest.mark.parametrize("name", real_ids("bpftool-cgroup-tree"))
def test_every_real_cgroup_tree_output_parses(name):
    df = parsed(real(f"bpftool-cgroup-tree/{name}"))
    assert len(df) >= 1
    assert df["id"].dtype == "Int64"
    assert df["hook"].notna().all()
