package accesslog

// Sink takes access events without blocking, copying what it keeps.
type Sink interface {
	Log(*Event)
}

// Multi hands each event to every sink in turn: the file logger and the
// stream publisher of an edge.
type Multi []Sink

// Log implements Sink.
func (m Multi) Log(e *Event) {
	for _, s := range m {
		s.Log(e)
	}
}
