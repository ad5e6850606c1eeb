package natsstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedConfig configures a NATS server run inside smd's process.
type EmbeddedConfig struct {
	// DataDir is where JetStream keeps its files. Required.
	DataDir string
	// Name is the server name; default "smd-" + host name. It must be
	// unique in a cluster.
	Name string
	// Listen is a client address ("127.0.0.1:4222") for other processes;
	// empty serves only the in-process connection.
	Listen string
	// Cluster joins other servers; nil runs alone.
	Cluster *ClusterConfig
	// MaxMemory and MaxStore bound JetStream's memory and disk (0: the
	// server's defaults).
	MaxMemory, MaxStore int64
	// StartTimeout bounds the wait until the server accepts clients;
	// default 30s.
	StartTimeout time.Duration
	// Logs turns the server's own log on (to stderr).
	Logs bool
}

// ClusterConfig makes an embedded server one node of a cluster.
type ClusterConfig struct {
	// Name is the cluster's name, the same on every node.
	Name string
	// Listen is this node's route address ("127.0.0.1:6222").
	Listen string
	// Routes are the route URLs of the other nodes ("nats://host:6222").
	Routes []string
}

// StartEmbedded starts a NATS server with JetStream in this process and
// waits until it accepts clients. Call Shutdown (and WaitForShutdown) on
// the result when done.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("nats: embedded server needs a data directory")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("nats: data directory: %w", err)
	}
	name := cfg.Name
	if name == "" {
		h, _ := os.Hostname()
		name = "smd-" + h
	}
	opts := &server.Options{
		ServerName:         name,
		JetStream:          true,
		StoreDir:           cfg.DataDir,
		JetStreamMaxMemory: cfg.MaxMemory,
		JetStreamMaxStore:  cfg.MaxStore,
		NoSigs:             true, // smd handles signals
		NoLog:              !cfg.Logs,
		DontListen:         cfg.Listen == "",
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats: listen: %w", err)
		}
		opts.Host, opts.Port = host, port
	}
	if c := cfg.Cluster; c != nil {
		if c.Name == "" {
			return nil, errors.New("nats: cluster needs a name")
		}
		host, port, err := splitHostPort(c.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats: cluster listen: %w", err)
		}
		opts.Cluster = server.ClusterOpts{Name: c.Name, Host: host, Port: port}
		for _, r := range c.Routes {
			u, err := url.Parse(r)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("nats: cluster route %q: want nats://host:port", r)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	if cfg.Logs {
		srv.ConfigureLogger()
	}
	srv.Start()
	wait := cfg.StartTimeout
	if wait <= 0 {
		wait = 30 * time.Second
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		return nil, fmt.Errorf("nats: embedded server not ready after %s", wait)
	}
	return srv, nil
}

// ConnectEmbedded opens an in-process connection to srv (no socket).
func ConnectEmbedded(srv *server.Server, name string) (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name(name), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("nats: in-process connection: %w", err)
	}
	return nc, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}
