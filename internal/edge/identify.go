package edge

func (e *Edge) identify(x *exchange) error {
	x.ip, x.geo = e.viewers.Identify(x.r)
	return nil
}
