/*
 * bpf_lxc.c - the per-endpoint programs on each pod's host-side veth (lxc...), modelled
 * on Cilium's bpf_lxc.c.
 *
 * cil_from_container runs on the lxc's ingress, i.e. for every packet the pod sends:
 *   - an ARP request from the pod (for its gateway, the node's cilium_host address) is
 *     answered here with the lxc's own MAC and sent straight back to the pod, although
 *     proxy_arp is 0 and the lxc has no address: this is the "ARP trick" of chapter 05;
 *   - IPv4 packets are counted in cilium_metrics and reported as flow events.
 * cil_to_container runs on the lxc's egress, for every packet delivered to the pod, and
 * counts and reports it the same way.
 *
 * Flows carry the security identity of both ends, looked up in cilium_ipcache (longest
 * prefix match), and the endpoint id from cilium_lxc. Neither program drops or rewrites
 * IPv4 traffic: routing stays the kernel's (Cilium's "endpointRoutes" mode).
 * Only UAPI types are used. The few protocol headers it reads are declared below with
 * the UAPI layouts (linux/if_ether.h, ip.h, tcp.h, udp.h, icmp.h, if_arp.h) instead of
 * being included: including them costs bcc seconds of compile time at every `labkit up`.
 */
#include <uapi/linux/bpf.h>
#include "pinned.h"

#define ETH_ALEN 6
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TC_ACT_OK 0

struct ethhdr {
	unsigned char h_dest[ETH_ALEN];
	unsigned char h_source[ETH_ALEN];
	__be16 h_proto;
} __attribute__((packed));

struct iphdr {
	__u8 ihl:4, version:4;	/* little-endian bit order, as on x86 and arm64 */
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
};

struct tcphdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u16 flags_and_offset;
	__be16 window;
	__sum16 check;
	__be16 urg_ptr;
};

struct udphdr {
	__be16 source;
	__be16 dest;
	__be16 len;
	__sum16 check;
};

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;
};

#define DIR_FROM_CONTAINER 0
#define DIR_TO_CONTAINER 1
#define EVENT_FLOW 0
#define EVENT_ARP_REPLY 1

struct endpoint_key {
	__be32 ip4;
};

struct endpoint_info {
	__u32 ifindex;		/* the lxc's ifindex in its node */
	__u16 endpoint_id;
	__u16 node_id;		/* which lab node the endpoint lives on */
	__u8 mac[6];		/* the pod's eth0 MAC */
	__u8 node_mac[6];	/* the lxc's MAC: what the pod sees as its gateway */
	__u32 sec_identity;
};

struct ipcache_key {
	__u32 prefixlen;
	__be32 ip4;
};

struct remote_endpoint_info {
	__u32 sec_identity;
	__be32 tunnel_endpoint;	/* the node address behind the prefix (0 for world) */
	__u16 node_id;
	__u8 flags;
	__u8 pad;
};

struct metrics_key {
	__u8 reason;		/* 0: forwarded, 1: ARP answered */
	__u8 dir;		/* 0: from container (egress of the pod), 1: to container */
	__u16 pad;
	__u32 ifindex;
};

struct metrics_value {
	__u64 packets;
	__u64 bytes;
};

struct flow_event {
	__u64 time_ns;
	__u32 ifindex;
	__u32 length;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 src_identity;
	__u32 dst_identity;
	__u16 endpoint_id;
	__u16 node_id;
	__u8 kind;		/* EVENT_FLOW or EVENT_ARP_REPLY */
	__u8 dir;
	__u8 proto;
	__u8 tcp_flags;		/* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 */
	__u8 icmp_type;
	__u8 pad[3];
};

struct arp_eth {
	__be16 ar_hrd;
	__be16 ar_pro;
	__u8 ar_hln;
	__u8 ar_pln;
	__be16 ar_op;
	__u8 ar_sha[ETH_ALEN];
	__be32 ar_sip;
	__u8 ar_tha[ETH_ALEN];
	__be32 ar_tip;
} __attribute__((packed));

BPF_TABLE_PINNED("hash", struct endpoint_key, struct endpoint_info, cilium_lxc, 65535, "PIN_DIR/cilium_lxc");
BPF_TABLE_PINNED("lpm_trie", struct ipcache_key, struct remote_endpoint_info, cilium_ipcache, 512000, "PIN_DIR/cilium_ipcache", BPF_F_NO_PREALLOC);
BPF_TABLE_PINNED("percpu_hash", struct metrics_key, struct metrics_value, cilium_metrics, 1024, "PIN_DIR/cilium_metrics");
PINNED_RINGBUF(cilium_events, 256, "PIN_DIR/cilium_events");

static __always_inline __u32 identity_of(__be32 ip)
{
	struct ipcache_key key = { .prefixlen = 32, .ip4 = ip };
	struct remote_endpoint_info *info = cilium_ipcache.lookup(&key);

	return info ? info->sec_identity : 2;	/* 2: reserved:world, as in Cilium */
}

static __always_inline void count(struct __sk_buff *skb, __u8 reason, __u8 dir)
{
	struct metrics_key key = { .reason = reason, .dir = dir, .ifindex = skb->ifindex };
	struct metrics_value *value = cilium_metrics.lookup(&key);

	if (value) {
		value->packets += 1;
		value->bytes += skb->len;
	} else {
		struct metrics_value first = { .packets = 1, .bytes = skb->len };
		cilium_metrics.update(&key, &first);
	}
}

static __always_inline void emit(struct __sk_buff *skb, __u8 kind, __u8 dir, __be32 saddr,
				 __be32 daddr, __u8 proto, __be16 sport, __be16 dport,
				 __u8 tcp_flags, __u8 icmp_type, __be32 endpoint_ip)
{
	struct flow_event *ev = cilium_events.ringbuf_reserve(sizeof(*ev));
	struct endpoint_key ep_key = { .ip4 = endpoint_ip };
	struct endpoint_info *ep;

	if (!ev)
		return;
	ep = cilium_lxc.lookup(&ep_key);
	ev->time_ns = bpf_ktime_get_ns();
	ev->ifindex = skb->ifindex;
	ev->length = skb->len;
	ev->saddr = saddr;
	ev->daddr = daddr;
	ev->sport = sport;
	ev->dport = dport;
	ev->src_identity = identity_of(saddr);
	ev->dst_identity = identity_of(daddr);
	ev->endpoint_id = ep ? ep->endpoint_id : 0;
	ev->node_id = ep ? ep->node_id : 0;
	ev->kind = kind;
	ev->dir = dir;
	ev->proto = proto;
	ev->tcp_flags = tcp_flags;
	ev->icmp_type = icmp_type;
	ev->pad[0] = 0;
	ev->pad[1] = 0;
	ev->pad[2] = 0;
	cilium_events.ringbuf_submit(ev, 0);
}

/* Counts and reports one IPv4 packet; the pod's own address is saddr (from) or daddr (to). */
static __always_inline int observe_ipv4(struct __sk_buff *skb, __u8 dir)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__be16 sport = 0, dport = 0;
	__u8 flags = 0, icmp_type = 0;
	void *l4;

	if ((void *)(ip + 1) > data_end)
		return TC_ACT_OK;
	l4 = (void *)ip + ip->ihl * 4;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return TC_ACT_OK;
		sport = tcp->source;
		dport = tcp->dest;
		flags = ((__u8 *)tcp)[13] & 0x3f;
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return TC_ACT_OK;
		sport = udp->source;
		dport = udp->dest;
	} else if (ip->protocol == IPPROTO_ICMP) {
		struct icmphdr *icmp = l4;

		if ((void *)(icmp + 1) > data_end)
			return TC_ACT_OK;
		icmp_type = icmp->type;
	}
	count(skb, 0, dir);
	emit(skb, EVENT_FLOW, dir, ip->saddr, ip->daddr, ip->protocol, sport, dport, flags,
	     icmp_type, dir == DIR_FROM_CONTAINER ? ip->saddr : ip->daddr);
	return TC_ACT_OK;
}

/* Answers the pod's ARP request with the lxc's MAC and sends the reply back to the pod. */
static __always_inline int answer_arp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct arp_eth *arp = (void *)(eth + 1);
	struct endpoint_key key;
	struct endpoint_info *ep;
	__be32 sip, tip;

	if ((void *)(arp + 1) > data_end)
		return TC_ACT_OK;
	if (arp->ar_op != bpf_htons(ARPOP_REQUEST) || arp->ar_hln != ETH_ALEN ||
	    arp->ar_pln != 4)
		return TC_ACT_OK;
	sip = arp->ar_sip;
	tip = arp->ar_tip;
	if (sip == tip)		/* gratuitous ARP: nothing to answer */
		return TC_ACT_OK;
	key.ip4 = sip;
	ep = cilium_lxc.lookup(&key);
	if (!ep)
		return TC_ACT_OK;

	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, ep->node_mac, ETH_ALEN);
	arp->ar_op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(arp->ar_tha, arp->ar_sha, ETH_ALEN);
	__builtin_memcpy(arp->ar_sha, ep->node_mac, ETH_ALEN);
	arp->ar_sip = tip;
	arp->ar_tip = sip;

	count(skb, 1, DIR_FROM_CONTAINER);
	emit(skb, EVENT_ARP_REPLY, DIR_FROM_CONTAINER, sip, tip, 0, 0, 0, 0, 0, sip);
	return bpf_redirect(skb->ifindex, 0);
}

int cil_from_container(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return answer_arp(skb);
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return observe_ipv4(skb, DIR_FROM_CONTAINER);
	return TC_ACT_OK;
}

int cil_to_container(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return observe_ipv4(skb, DIR_TO_CONTAINER);
	return TC_ACT_OK;
}
