// Package kvread reads the latest entry of a JetStream KV key from its
// stream's leader, so that a read follows the writes acknowledged before
// it.
//
// A bucket's KV Get uses "direct get", which any replica of a replicated
// bucket may answer; a follower that has not applied the last write yet
// answers with the value before it (or none). On a 3-node cluster the
// token API then answered "no asset" right after the asset was created
// (seen in TestFaultsNATSDown). The control plane's reads that must see
// its own writes (assets, revocations, allowances) come here instead: the
// JetStream API's STREAM.MSG.GET is answered by the stream's leader only.
// nats.go has no way to ask for it on a stream that allows direct gets,
// hence this small piece.
//
// It imports nats.go only; nothing of smd.
package kvread

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultTimeout bounds a read whose context has no deadline.
const DefaultTimeout = 5 * time.Second

// Entry is the latest value of a key.
type Entry struct {
	Value    []byte
	Revision uint64
}

// apiErrNoMessage is JetStream's error code for "no message found".
const apiErrNoMessage = 10037

type getResponse struct {
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
	Message *struct {
		Subject string `json:"subject"`
		Seq     uint64 `json:"seq"`
		Header  []byte `json:"hdrs"`
		Data    []byte `json:"data"`
	} `json:"message"`
}

// Get returns the latest entry of key in bucket, read from the bucket's
// stream leader. A key never written, deleted or purged is
// jetstream.ErrKeyNotFound.
func Get(ctx context.Context, nc *nats.Conn, bucket, key string) (Entry, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	subject := "$KV." + bucket + "." + key
	req, err := json.Marshal(struct {
		LastBySubject string `json:"last_by_subj"`
	}{subject})
	if err != nil {
		return Entry{}, err
	}
	msg, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+bucket, req)
	if err != nil {
		return Entry{}, fmt.Errorf("get %s: %w", subject, err)
	}
	var r getResponse
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return Entry{}, fmt.Errorf("get %s: answer: %w", subject, err)
	}
	switch {
	case r.Error != nil && r.Error.ErrCode == apiErrNoMessage:
		return Entry{}, jetstream.ErrKeyNotFound
	case r.Error != nil:
		return Entry{}, fmt.Errorf("get %s: %d %s", subject, r.Error.Code, r.Error.Description)
	case r.Message == nil || r.Message.Subject != subject:
		return Entry{}, fmt.Errorf("get %s: answer holds no message of that subject", subject)
	}
	if len(r.Message.Header) > 0 {
		h, err := nats.DecodeHeadersMsg(r.Message.Header)
		if err != nil {
			return Entry{}, fmt.Errorf("get %s: headers: %w", subject, err)
		}
		// A delete or purge, or the marker JetStream leaves when a
		// message's TTL or the bucket's age limit removes the key.
		if op := h.Get("KV-Operation"); op == "DEL" || op == "PURGE" || h.Get(jetstream.MarkerReasonHeader) != "" {
			return Entry{}, jetstream.ErrKeyNotFound
		}
	}
	return Entry{Value: r.Message.Data, Revision: r.Message.Seq}, nil
}
