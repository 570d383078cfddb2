// Command fwatchdog is this project's own implementation of the OpenFaaS of-watchdog contract,
// written from its documentation, for the test environment only: the Go module proxy reachable here
// does not serve github.com/openfaas/of-watchdog (see docs/test-env-containers.md).
//
// Modes (env `mode`): streaming (default: fork fprocess per request, request body to stdin, stdout
// streamed back with status 200), serializing (fork per request, buffered; 500 on a failed process),
// http (start fprocess once and reverse-proxy every request to upstream_url / http_upstream_url),
// static (serve static_path). Other settings: fprocess / function_process, port (8080),
// read_timeout / write_timeout (10s), exec_timeout (10s, 0 = none), healthcheck_interval
// (= write_timeout), content_type, max_inflight, suppress_lock, prefix_logs (true),
// http_buffer_req_body / buffer_http, ready_path. GET /_/health answers 200 while /tmp/.lock exists.
// Not implemented: JWT/OPA auth, the Prometheus metrics port, log_buffer_size.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Set with -ldflags "-X main.Version=… -X main.GitCommit=…".
var (
	Version   = "dev"
	GitCommit = ""
)

type config struct {
	mode         string
	process      string
	upstream     string
	staticPath   string
	readyPath    string
	port         int
	readTimeout  time.Duration
	writeTimeout time.Duration
	execTimeout  time.Duration
	healthEvery  time.Duration
	contentType  string
	maxInflight  int64
	suppressLock bool
	prefixLogs   bool
	bufferBody   bool
}

func duration(value string, fallback time.Duration) time.Duration {
	if value == "" {
		return fallback
	}
	if n, err := strconv.Atoi(value); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if d, err := time.ParseDuration(value); err == nil {
		return d
	}
	return fallback
}

func first(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func readConfig() config {
	c := config{
		mode:         first("mode"),
		process:      first("function_process", "fprocess"),
		upstream:     first("http_upstream_url", "upstream_url"),
		staticPath:   first("static_path"),
		readyPath:    first("ready_path"),
		readTimeout:  duration(os.Getenv("read_timeout"), 10*time.Second),
		writeTimeout: duration(os.Getenv("write_timeout"), 10*time.Second),
		execTimeout:  duration(first("exec_timeout", "hard_timeout"), 10*time.Second),
		contentType:  os.Getenv("content_type"),
		suppressLock: os.Getenv("suppress_lock") == "true",
		prefixLogs:   os.Getenv("prefix_logs") != "false",
		bufferBody:   first("http_buffer_req_body", "buffer_http") == "true",
	}
	if c.mode == "" {
		c.mode = "streaming"
	}
	c.port = 8080
	if n, err := strconv.Atoi(os.Getenv("port")); err == nil && n > 0 {
		c.port = n
	}
	if n, err := strconv.Atoi(os.Getenv("max_inflight")); err == nil && n > 0 {
		c.maxInflight = int64(n)
	}
	c.healthEvery = duration(os.Getenv("healthcheck_interval"), c.writeTimeout)
	return c
}

var accepting atomic.Bool

func lockPath() string { return filepath.Join(os.TempDir(), ".lock") }

func lockPresent() bool {
	_, err := os.Stat(lockPath())
	return err == nil
}

// pipeLogs copies the lines of a function's stream into the watchdog's log.
func pipeLogs(c *config, name string, r io.Reader) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		if c.prefixLogs {
			log.Printf("%s: %s", name, s.Text())
		} else {
			fmt.Fprintln(os.Stderr, s.Text())
		}
	}
}

func requestEnv(r *http.Request) []string {
	env := os.Environ()
	for k, v := range r.Header {
		env = append(env, fmt.Sprintf("Http_%s=%s", strings.ReplaceAll(k, "-", "_"), v[0]))
	}
	env = append(env, "Http_Method="+r.Method, "Http_Path="+r.URL.Path, "Http_Host="+r.Host)
	if r.URL.RawQuery != "" {
		env = append(env, "Http_Query="+r.URL.RawQuery)
	}
	if len(r.TransferEncoding) > 0 {
		env = append(env, "Http_Transfer_Encoding="+r.TransferEncoding[0])
	}
	return env
}

func forkCommand(c *config, r *http.Request) (*exec.Cmd, context.CancelFunc) {
	parts := strings.Fields(c.process)
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if c.execTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.execTimeout)
	}
	cmd := exec.CommandContext(ctx, parts[0], parts[1:]...)
	cmd.Env = requestEnv(r)
	return cmd, cancel
}

func serveStreaming(c *config, w http.ResponseWriter, r *http.Request) {
	cmd, cancel := forkCommand(c, r)
	defer cancel()
	cmd.Stdin = r.Body
	stderr, _ := cmd.StderrPipe()
	if c.contentType != "" {
		w.Header().Set("Content-Type", c.contentType)
	}
	cmd.Stdout = flushWriter{w}
	if err := cmd.Start(); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "Can't start %s: %s\n", c.process, err)
		return
	}
	go pipeLogs(c, "stderr", stderr)
	if err := cmd.Wait(); err != nil {
		log.Printf("%s exited: %s", c.process, err)
	}
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

func serveSerializing(c *config, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "%s\n", err)
		return
	}
	cmd, cancel := forkCommand(c, r)
	defer cancel()
	cmd.Stdin = bytes.NewReader(body)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if errOut.Len() > 0 {
		pipeLogs(c, "stderr", &errOut)
	}
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s\n", err)
		return
	}
	if c.contentType != "" {
		w.Header().Set("Content-Type", c.contentType)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(out.Bytes())
}

func httpMode(c *config) (http.HandlerFunc, error) {
	target, err := url.Parse(c.upstream)
	if err != nil || c.upstream == "" {
		return nil, fmt.Errorf("mode=http needs upstream_url, got %q", c.upstream)
	}
	parts := strings.Fields(c.process)
	cmd := exec.Command(parts[0], parts[1:]...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go pipeLogs(c, "stdout", stdout)
	go pipeLogs(c, "stderr", stderr)
	go func() {
		err := cmd.Wait()
		log.Fatalf("Forked function has terminated: %v", err)
	}()
	proxy := httputil.NewSingleHostReverseProxy(target)
	return func(w http.ResponseWriter, r *http.Request) {
		if c.bufferBody && r.Body != nil {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.TransferEncoding = nil
		}
		if c.execTimeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), c.execTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		proxy.ServeHTTP(w, r)
	}, nil
}

func main() {
	showVersion := flag.Bool("version", false, "Print the version and exit")
	healthcheck := flag.Bool("run-healthcheck", false, "Exit 0 when the lock file exists, 1 otherwise")
	flag.Parse()
	if *healthcheck {
		if lockPresent() {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "unable to find lock file.")
		os.Exit(1)
	}
	sha := GitCommit
	if sha == "" {
		sha = "unknown"
	}
	log.Printf("Version: %v\tSHA: %v\n", Version, sha)
	if *showVersion {
		return
	}
	c := readConfig()
	if c.mode != "static" && c.process == "" {
		log.Fatalln("Provide a \"function_process\" or \"fprocess\" environmental variable for your function.")
	}

	var serve http.HandlerFunc
	switch c.mode {
	case "streaming":
		serve = func(w http.ResponseWriter, r *http.Request) { serveStreaming(&c, w, r) }
	case "serializing":
		serve = func(w http.ResponseWriter, r *http.Request) { serveSerializing(&c, w, r) }
	case "http":
		h, err := httpMode(&c)
		if err != nil {
			log.Fatalln(err)
		}
		serve = h
	case "static":
		if c.staticPath == "" {
			log.Fatalln("mode=static needs static_path")
		}
		serve = http.FileServer(http.Dir(c.staticPath)).ServeHTTP
	default:
		log.Fatalf("unknown watchdog mode: %q", c.mode)
	}

	var inflight atomic.Int64
	limited := func(w http.ResponseWriter, r *http.Request) {
		if c.maxInflight > 0 {
			if inflight.Add(1) > c.maxInflight {
				inflight.Add(-1)
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprintf(w, "Concurrent request limit exceeded. Max concurrent requests: %d\n", c.maxInflight)
				return
			}
			defer inflight.Add(-1)
		}
		serve(w, r)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/_/health", func(w http.ResponseWriter, r *http.Request) {
		if !accepting.Load() || (!c.suppressLock && !lockPresent()) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "OK")
	})
	if c.readyPath != "" {
		mux.HandleFunc("/_/ready", func(w http.ResponseWriter, r *http.Request) {
			r.URL.Path = c.readyPath
			limited(w, r)
		})
	}
	mux.HandleFunc("/", limited)

	server := &http.Server{
		Addr:           fmt.Sprintf(":%d", c.port),
		Handler:        mux,
		ReadTimeout:    c.readTimeout,
		WriteTimeout:   c.writeTimeout,
		MaxHeaderBytes: 1 << 20,
	}
	log.Printf("Watchdog mode: %s\tfprocess: %q\n", c.mode, c.process)
	log.Printf("Timeouts: read: %s write: %s hard: %s health: %s\n",
		c.readTimeout, c.writeTimeout, c.execTimeout, c.healthEvery)
	log.Printf("Listening on port: %d\n", c.port)

	done := make(chan struct{})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		log.Printf("SIGTERM: no connections in: %s", c.healthEvery)
		accepting.Store(false)
		os.Remove(lockPath())
		time.Sleep(c.healthEvery)
		ctx, cancel := context.WithTimeout(context.Background(), c.writeTimeout)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			log.Printf("Error in Shutdown: %v", err)
		}
		close(done)
	}()
	go func() {
		if err := server.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Printf("Error ListenAndServe: %v", err)
			os.Exit(1)
		}
	}()
	if !c.suppressLock {
		if err := os.WriteFile(lockPath(), nil, 0o660); err != nil {
			log.Fatalf("Cannot write %s. To disable lock-file set env suppress_lock=true.\n Error: %s.\n", lockPath(), err)
		}
	}
	accepting.Store(true)
	<-done
}
