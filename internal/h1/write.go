package h1

import (
	"net/http"
	"time"
)

// refuse answers a request the server does not serve, and closes.
func (c *conn) refuse(e *protoError) {
	if c.s.Refused != nil {
		c.s.Refused(e.code)
	}
	text := http.StatusText(e.status)
	b := c.wbuf
	b = append(b, "HTTP/1.1 "...)
	b = appendInt(b, int64(e.status))
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"...)
	if e.status == http.StatusMethodNotAllowed {
		b = append(b, "Allow: GET, HEAD, OPTIONS\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = appendInt(b, int64(len(text)+5))
	b = append(b, "\r\n\r\n"...)
	b = appendInt(b, int64(e.status))
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, '\n')
	c.wbuf = b
	if c.wdl == 0 && c.s.WriteTimeout > 0 {
		c.armWrite()
	} else if c.wdl == 0 {
		// Never wait forever on a client that does not read.
		c.nc.SetWriteDeadline(time.Now().Add(lingerTime * 10))
	}
	if c.flush() == nil {
		c.linger()
	}
}

// linger half-closes the connection and reads (and drops) what the client
// still sends, for a bounded time, so that the client reads the response
// before the close resets the connection.
func (c *conn) linger() {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := c.nc.(closeWriter)
	if !ok {
		return
	}
	if cw.CloseWrite() != nil {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	var n int
	for n < lingerBytes {
		m, err := c.nc.Read(c.rbuf)
		n += m
		if err != nil {
			return
		}
	}
}

// flush sends the buffered responses.
func (c *conn) flush() error {
	if c.werr != nil {
		return c.werr
	}
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.nc.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	if err != nil {
		c.werr = err
	}
	return err
}

// write sends the buffered bytes and p, in one writev when p is big.
func (c *conn) write(p []byte) error {
	if c.werr != nil {
		return c.werr
	}
	if len(c.wbuf)+len(p) <= cap(c.wbuf) {
		c.wbuf = append(c.wbuf, p...)
		return nil
	}
	if len(p) < bigWrite {
		if err := c.flush(); err != nil {
			return err
		}
		c.wbuf = append(c.wbuf, p...)
		return nil
	}
	c.iov = [2][]byte{c.wbuf, p}
	c.bufs = c.iov[:]
	_, err := c.bufs.WriteTo(c.nc)
	c.iov, c.bufs = [2][]byte{}, nil
	c.wbuf = c.wbuf[:0]
	if err != nil {
		c.werr = err
	}
	return err
}
