package accesslog

import "testing"

type countSink struct{ ids []string }

func (c *countSink) Log(e *Event) { c.ids = append(c.ids, e.RequestID) }

func TestMultiHandsEveryEventToEverySink(t *testing.T) {
	a, b := &countSink{}, &countSink{}
	var s Sink = Multi{a, b}
	s.Log(&Event{RequestID: "1"})
	s.Log(&Event{RequestID: "2"})
	if len(a.ids) != 2 || len(b.ids) != 2 || a.ids[1] != "2" || b.ids[0] != "1" {
		t.Fatalf("a %v, b %v", a.ids, b.ids)
	}
}
