package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAccessStreamDefaults: publishing is on exactly when NATS is there,
// unless the file or the environment says otherwise.
func TestAccessStreamDefaults(t *testing.T) {
	routes := "routes: [{prefix: /, origin: \"http://127.0.0.1:8081\"}]\n"
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		on   bool
	}{
		{"keys file, no nats", routes + "keys_file: k.json\n", nil, false},
		{"nats", routes + "nats: {urls: [nats://127.0.0.1:4222]}\n", nil, true},
		{"nats, turned off", routes + "nats: {urls: [nats://127.0.0.1:4222]}\naccess_stream: {enabled: false}\n", nil, false},
		{"nats, off by environment", routes + "nats: {urls: [nats://127.0.0.1:4222]}\n",
			map[string]string{"SMD_EDGE_ACCESS_STREAM_ENABLED": "false"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadEdge(writeFile(t, tc.file), env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if c.AccessStreamOn() != tc.on {
				t.Fatalf("AccessStreamOn = %v", c.AccessStreamOn())
			}
		})
	}
	s, err := LoadServe("", true, env(map[string]string{"SMD_DATA_DIR": "/var/lib/smd", "SMD_ACCESS_STREAM_SPOOL_MAX_BYTES": "2GiB"}))
	if err != nil {
		t.Fatal(err)
	}
	if !s.AccessStreamOn() || s.AccessSpoolDir() != filepath.Join("/var/lib/smd", "access-spool") || s.AccessStream.SpoolMaxBytes != 2<<30 {
		t.Fatalf("smd serve: on %v, spool %q, max %v", s.AccessStreamOn(), s.AccessSpoolDir(), s.AccessStream.SpoolMaxBytes)
	}
	if s.AccessStream.SpoolSync.D() != time.Second || s.AccessStream.AckTimeout.D() != 5*time.Second || s.Control.Export.Dir != "" {
		t.Fatalf("defaults: %+v, export %+v", s.AccessStream, s.Control.Export)
	}
}

// TestAccessConfigErrors: each bad value is refused with its key.
func TestAccessConfigErrors(t *testing.T) {
	base := "routes: [{prefix: /, origin: \"http://127.0.0.1:8081\"}]\n"
	for _, tc := range []struct{ file, key string }{
		{base + "keys_file: k.json\naccess_stream: {enabled: true}\n", "access_stream.enabled"},
		{base + "nats: {urls: [nats://n:4222]}\naccess_stream: {spool_max_bytes: 1KiB}\n", "access_stream.spool_max_bytes"},
		{base + "nats: {urls: [nats://n:4222]}\naccess_stream: {queue: 0}\n", "access_stream.queue"},
		{base + "nats: {urls: [nats://n:4222]}\naccess_stream: {batch: 5000}\n", "access_stream.batch"},
		{base + "nats: {urls: [nats://n:4222]}\naccess_stream: {ack_timeout: 0s}\n", "access_stream.ack_timeout"},
		{base + "nats: {urls: [nats://n:4222]}\naccess_stream: {spool_sync: -1s}\n", "access_stream.spool_sync"},
	} {
		c, err := LoadEdge(writeFile(t, tc.file), env(nil))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: %v, want an error naming %s", tc.file, err, tc.key)
		}
	}
	s, err := LoadServe("", true, env(map[string]string{"SMD_CONTROL_EXPORT_DIR": "/x", "SMD_CONTROL_EXPORT_GRACE": "0s", "SMD_CONTROL_EXPORT_NODE": "../up"}))
	if err != nil {
		t.Fatal(err)
	}
	s.Routes = []Route{{Prefix: "/", Origin: "http://127.0.0.1:8081"}}
	err = s.Validate()
	if err == nil || !strings.Contains(err.Error(), "control.export.grace") || !strings.Contains(err.Error(), "control.export.node") {
		t.Fatalf("export errors: %v", err)
	}
}

// TestExportS3Config: the upload settings are checked, each error naming
// its key; a good one passes; the YAML keys and SMD_ variables reach it.
func TestExportS3Config(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string // "" valid
	}{
		{map[string]string{"SMD_CONTROL_EXPORT_DIR": "/x", "SMD_CONTROL_EXPORT_S3_ENDPOINT": "s3.example.com", "SMD_CONTROL_EXPORT_S3_BUCKET": "logs"}, ""},
		{map[string]string{"SMD_CONTROL_EXPORT_S3_ENDPOINT": "s3.example.com", "SMD_CONTROL_EXPORT_S3_BUCKET": "logs"}, "control.export.s3"},
		{map[string]string{"SMD_CONTROL_EXPORT_DIR": "/x", "SMD_CONTROL_EXPORT_S3_ENDPOINT": "https://s3.example.com/", "SMD_CONTROL_EXPORT_S3_BUCKET": "logs"}, "control.export.s3.endpoint"},
		{map[string]string{"SMD_CONTROL_EXPORT_DIR": "/x", "SMD_CONTROL_EXPORT_S3_ENDPOINT": "s3.example.com"}, "control.export.s3.bucket"},
		{map[string]string{"SMD_CONTROL_EXPORT_DIR": "/x", "SMD_CONTROL_EXPORT_S3_BUCKET": "logs"}, "control.export.s3.endpoint"},
		{map[string]string{"SMD_CONTROL_EXPORT_DIR": "/x", "SMD_CONTROL_EXPORT_S3_ENDPOINT": "s3.example.com", "SMD_CONTROL_EXPORT_S3_BUCKET": "logs", "SMD_CONTROL_EXPORT_S3_PREFIX": "/a/"}, "control.export.s3.prefix"},
		{map[string]string{"SMD_CONTROL_EXPORT_DIR": "/x", "SMD_CONTROL_EXPORT_S3_ENDPOINT": "s3.example.com", "SMD_CONTROL_EXPORT_S3_BUCKET": "logs", "SMD_CONTROL_EXPORT_S3_INTERVAL": "10ms"}, "control.export.s3.interval"},
		{map[string]string{"SMD_CONTROL_EXPORT_DIR": "/x", "SMD_CONTROL_EXPORT_S3_ENDPOINT": "s3.example.com", "SMD_CONTROL_EXPORT_S3_BUCKET": "logs", "SMD_CONTROL_EXPORT_S3_ACCESS_KEY_FILE": "/k"}, "control.export.s3.access_key_file"},
	} {
		s, err := LoadServe("", true, env(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		s.Routes = []Route{{Prefix: "/", Origin: "http://127.0.0.1:8081"}}
		err = s.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
	}
}

// TestClientIPHeader: client_ip_header must be a header name and needs
// trusted proxies; the control plane's too.
func TestClientIPHeader(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"keys_file: k.json\nroutes: [{prefix: /, origin: http://o}]\ntrusted_proxies: [10.0.0.0/8]\nclient_ip_header: CF-Connecting-IP\n", ""},
		{"keys_file: k.json\nroutes: [{prefix: /, origin: http://o}]\nclient_ip_header: CF-Connecting-IP\n", "client_ip_header"},
		{"keys_file: k.json\nroutes: [{prefix: /, origin: http://o}]\ntrusted_proxies: [10.0.0.0/8]\nclient_ip_header: \"Bad Header\"\n", "client_ip_header"},
	} {
		c, err := LoadEdge(writeFile(t, tc.file), env(nil))
		if err == nil {
			err = c.Validate()
		}
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: %v, want %q", tc.file, err, tc.want)
		}
	}
	s, err := LoadServe("", true, env(map[string]string{"SMD_CONTROL_CLIENT_IP_HEADER": "Bad:Header"}))
	if err != nil {
		t.Fatal(err)
	}
	s.Routes = []Route{{Prefix: "/", Origin: "http://127.0.0.1:8081"}}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "control.client_ip_header") {
		t.Errorf("control: %v", err)
	}
}
