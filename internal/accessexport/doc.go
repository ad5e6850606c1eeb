// Package accessexport writes the access stream to hourly files for
// offline SQL (DuckDB, Athena, Spark):
//
//	<dir>/dt=YYYY-MM-DD/hour=HH/<node>-<seq>.json.gz
//
// one JSON event per line (the access log's fields), gzip, partitioned by
// the event's time in UTC; <node> names the control plane that wrote the
// file, <seq> is the stream sequence of the message (batch) holding its
// first event. A file is written
// under a hidden temporary name (.<name>.tmp) and renamed into place, after
// an fsync, only once complete, so a reader never sees a half-written
// gzip: the file of an hour is closed Grace after the hour ends; events
// that arrive later for an hour already closed (an edge flushing its
// spool) go to a new file of that hour, closed Grace after it was opened.
//
// One writer in the cluster: the control plane holding the lease
// "<name>" in smd_leases. It reads the stream in order from a checkpoint
// kept in the KV bucket smd_export: the highest stream sequence below
// which every event is in a closed file, and for each hour the last
// sequence already in its closed files (an hour's events are read in
// sequence order, so this tells exactly which of them are exported).
//
// The sequences are those of the stream's messages, each a batch of one
// edge's events of one partition (package accessstream), which may
// straddle an hour's end: each event goes to its own hour's file, and the
// checkpoint's sequence moves past a message only once every file it
// wrote to is closed. Read again after a takeover, its events of an hour
// whose closed files hold it (the per-hour sequence) are skipped, the
// others written.
//
// The checkpoint moves, with compare-and-set, only after files are
// renamed; so a writer that dies, or loses the lease (its temporary files
// are then removed, never renamed), costs nothing but the events since the
// checkpoint, which the next writer reads again. Only a crash between a
// rename and the checkpoint's update can export events twice (in two
// files of the hour); readers who must be exact deduplicate on request_id
// and edge_id. A batch stored twice (an edge's resend after the stream's
// duplicate window) is dropped by its message id. A durable consumer is
// not used for this: its acknowledgements would have to wait for the
// hour's end, holding every event of the hour unacknowledged, and a
// takeover would see the old writer's unacknowledged events only after
// the acknowledgement timeout, out of order.
package accessexport
