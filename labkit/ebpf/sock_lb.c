/*
 * sock_lb.c - socket-based service load balancing, modelled on Cilium's bpf_sock.c.
 *
 * A process in the lab's cgroup calls connect() (TCP) or sendmsg() (UDP) towards a
 * service address (ClusterIP:port). cil_sock4_connect / cil_sock4_sendmsg look the
 * service up in cilium_lb4_services_v2, pick one backend slot at random (Cilium's default
 * "Backend Selection: Random"), and rewrite the socket's destination to that backend from
 * cilium_lb4_backends_v3. The translation happens once, at the system call: every packet
 * of the connection already carries the backend address, so nothing is NATed per packet.
 *
 * cil_sock4_getpeername and cil_sock4_recvmsg undo the rewrite for the application,
 * using cilium_lb4_reverse_sk (socket cookie + backend -> service), so getpeername() and
 * recvfrom() still report the service address.
 *
 * Each translation is reported on an event ring (labkit's "Socket LB tracing").
 * Only UAPI types are used, so any kernel headers compile it.
 */
#include <uapi/linux/bpf.h>
#include "pinned.h"

#define SVC_SCOPE_EXT 0

struct lb4_key {
	__be32 address;		/* service address */
	__be16 dport;		/* service port */
	__u16 backend_slot;	/* 0: the service itself, 1..count: its backends */
	__u8 proto;		/* IPPROTO_TCP, IPPROTO_UDP, 0 = any */
	__u8 scope;
	__u8 pad[2];
};

struct lb4_service {
	__u32 backend_id;	/* slot > 0: the backend in this slot */
	__u16 count;		/* slot 0: how many backends */
	__u16 rev_nat_index;
	__u8 flags;
	__u8 flags2;
	__u8 pad[2];
};

struct lb4_backend {
	__be32 address;
	__be16 port;
	__u8 proto;
	__u8 flags;
};

struct lb4_reverse_nat {
	__be32 address;
	__be16 port;
	__u16 pad;
};

struct ipv4_revnat_tuple {
	__u64 cookie;
	__be32 address;		/* backend */
	__be16 port;
	__u16 pad;
};

struct ipv4_revnat_entry {
	__be32 address;		/* service */
	__be16 port;
	__u16 rev_nat_index;
};

struct sock_lb_event {
	__u64 time_ns;
	__u64 cookie;
	__u64 cgroup_id;
	__be32 orig_address;
	__be32 backend_address;
	__be16 orig_port;
	__be16 backend_port;
	__u32 backend_id;
	__u32 pid;
	__u8 hook;		/* 0 connect, 1 sendmsg, 2 recvmsg, 3 getpeername */
	__u8 proto;
	__u8 pad[2];
	char comm[16];
};

BPF_TABLE_PINNED("hash", struct lb4_key, struct lb4_service, cilium_lb4_services_v2, 65536, "PIN_DIR/cilium_lb4_services_v2");
BPF_TABLE_PINNED("hash", __u32, struct lb4_backend, cilium_lb4_backends_v3, 65536, "PIN_DIR/cilium_lb4_backends_v3");
BPF_TABLE_PINNED("hash", __u16, struct lb4_reverse_nat, cilium_lb4_reverse_nat, 65536, "PIN_DIR/cilium_lb4_reverse_nat");
BPF_TABLE_PINNED("lru_hash", struct ipv4_revnat_tuple, struct ipv4_revnat_entry, cilium_lb4_reverse_sk, 65536, "PIN_DIR/cilium_lb4_reverse_sk");
PINNED_RINGBUF(labkit_sock_events, 64, "PIN_DIR/labkit_sock_events");

static __always_inline void report(struct bpf_sock_addr *ctx, __u8 hook, __be32 orig,
				   __be16 orig_port, __be32 backend, __be16 backend_port,
				   __u32 backend_id, __u64 cookie)
{
	struct sock_lb_event *ev = labkit_sock_events.ringbuf_reserve(sizeof(*ev));

	if (!ev)
		return;
	ev->time_ns = bpf_ktime_get_ns();
	ev->cookie = cookie;
	ev->cgroup_id = bpf_get_current_cgroup_id();
	ev->orig_address = orig;
	ev->orig_port = orig_port;
	ev->backend_address = backend;
	ev->backend_port = backend_port;
	ev->backend_id = backend_id;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->hook = hook;
	ev->proto = ctx->protocol;
	ev->pad[0] = 0;
	ev->pad[1] = 0;
	bpf_get_current_comm(&ev->comm, sizeof(ev->comm));
	labkit_sock_events.ringbuf_submit(ev, 0);
}

/* Rewrites ctx's destination to a random backend of the service it names, if any. */
static __always_inline int translate(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct lb4_key key = {};
	struct lb4_service *svc, *slot;
	struct lb4_backend *backend;
	struct ipv4_revnat_tuple rkey = {};
	struct ipv4_revnat_entry rval = {};
	__be32 orig = ctx->user_ip4;
	__be16 orig_port = (__be16)ctx->user_port;
	__u64 cookie;
	__u32 backend_id;

	key.address = orig;
	key.dport = orig_port;
	key.proto = ctx->protocol;
	svc = cilium_lb4_services_v2.lookup(&key);
	if (!svc) {
		key.proto = 0;
		svc = cilium_lb4_services_v2.lookup(&key);
	}
	if (!svc || svc->count == 0)
		return 1;

	key.backend_slot = (bpf_get_prandom_u32() % svc->count) + 1;
	slot = cilium_lb4_services_v2.lookup(&key);
	if (!slot)
		return 1;
	backend_id = slot->backend_id;
	backend = cilium_lb4_backends_v3.lookup(&backend_id);
	if (!backend)
		return 1;

	ctx->user_ip4 = backend->address;
	ctx->user_port = backend->port;

	cookie = bpf_get_socket_cookie(ctx);
	rkey.cookie = cookie;
	rkey.address = backend->address;
	rkey.port = backend->port;
	rval.address = orig;
	rval.port = orig_port;
	rval.rev_nat_index = svc->rev_nat_index;
	cilium_lb4_reverse_sk.update(&rkey, &rval);

	report(ctx, hook, orig, orig_port, backend->address, backend->port, backend_id, cookie);
	return 1;
}

/* Puts the service address back where the application reads its peer. */
static __always_inline int reverse(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct ipv4_revnat_tuple rkey = {};
	struct ipv4_revnat_entry *rval;
	__be32 backend = ctx->user_ip4;
	__be16 backend_port = (__be16)ctx->user_port;

	rkey.cookie = bpf_get_socket_cookie(ctx);
	rkey.address = backend;
	rkey.port = backend_port;
	rval = cilium_lb4_reverse_sk.lookup(&rkey);
	if (!rval)
		return 1;
	ctx->user_ip4 = rval->address;
	ctx->user_port = rval->port;
	report(ctx, hook, rval->address, rval->port, backend, backend_port, 0, rkey.cookie);
	return 1;
}

int cil_sock4_connect(struct bpf_sock_addr *ctx)
{
	return translate(ctx, 0);
}

int cil_sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	return translate(ctx, 1);
}

int cil_sock4_recvmsg(struct bpf_sock_addr *ctx)
{
	return reverse(ctx, 2);
}

int cil_sock4_getpeername(struct bpf_sock_addr *ctx)
{
	return reverse(ctx, 3);
}
