/*
 * pinned.h - a ring buffer pinned in bpffs, for bcc.
 *
 * bcc's BPF_RINGBUF_OUTPUT makes a new ring buffer for every process that compiles the
 * program. labkit's programs outlive the process that loaded them (their links are
 * pinned), so the ring buffer they write to must be pinned too: then a notebook started
 * later opens the same buffer and reads what the programs reported.
 */
#define PINNED_RINGBUF(_name, _pages, _path)					\
struct _name##_table_t {							\
	int key;								\
	u32 leaf;								\
	int (*ringbuf_output)(void *, u64, u64);				\
	void *(*ringbuf_reserve)(u64);						\
	void (*ringbuf_discard)(void *, u64);					\
	void (*ringbuf_submit)(void *, u64);					\
	u32 max_entries;							\
};										\
__attribute__((section("maps/ringbuf:" _path)))					\
struct _name##_table_t _name = { .max_entries = ((_pages) * PAGE_SIZE) }
