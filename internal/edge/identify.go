package edge

func (e *Edge) identify(x *exchange) error {
	x.ip, x.geo = x.s.viewers.Identify(x.r)
	return nil
}
