package relay

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Signed checkpoints of the notary are published on their own subject, in
// their own stream that keeps every message, so that auditors and
// downstream systems archive them outside the ledger's operator's reach.
const (
	CheckpointStreamName = "LEDGER_CHECKPOINTS"
	CheckpointSubject    = SubjectPrefix + ".checkpoints"
	HeaderTreeSize       = "Ledger-Tree-Size"
	HeaderOrigin         = "Ledger-Origin"
)

// CheckpointStreamConfig is the configuration of the checkpoints' stream:
// file storage, no limit on age, count or size.
func CheckpointStreamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        CheckpointStreamName,
		Description: "Signed checkpoints of the ledger's Merkle tree (C2SP tlog-checkpoint in signed notes), every one kept",
		Subjects:    []string{CheckpointSubject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      0,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Duplicates:  10 * time.Minute,
		Replicas:    max(replicas, 1),
	}
}

// EnsureCheckpointStream creates the checkpoints' stream, or checks the
// existing one's settings (see EnsureStream).
func EnsureCheckpointStream(ctx context.Context, js jetstream.JetStream, replicas int) error {
	return ensureStream(ctx, js, CheckpointStreamConfig(replicas), nil)
}

// LastPublishedCheckpoint returns the tree size of the last checkpoint the
// stream holds (0 when none).
func LastPublishedCheckpoint(ctx context.Context, js jetstream.JetStream) (int64, error) {
	stream, err := js.Stream(ctx, CheckpointStreamName)
	if err != nil {
		return 0, err
	}
	msg, err := stream.GetLastMsgForSubject(ctx, CheckpointSubject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	size, err := strconv.ParseInt(msg.Header.Get(HeaderTreeSize), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("relay: the last message of %s has no %s header", CheckpointStreamName, HeaderTreeSize)
	}
	return size, nil
}

// PublishCheckpoint publishes one signed checkpoint and waits for the
// stream's acknowledgement. Its Nats-Msg-Id is origin/size, so a checkpoint
// republished within the duplicate window is dropped.
func PublishCheckpoint(ctx context.Context, js jetstream.JetStream, origin string, size int64, signedNote []byte) error {
	msg := nats.NewMsg(CheckpointSubject)
	msg.Data = signedNote
	msg.Header.Set(jetstream.MsgIDHeader, origin+"/"+strconv.FormatInt(size, 10))
	msg.Header.Set(HeaderTreeSize, strconv.FormatInt(size, 10))
	msg.Header.Set(HeaderOrigin, origin)
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("relay: publish the checkpoint of %d events: %w", size, err)
	}
	return nil
}
