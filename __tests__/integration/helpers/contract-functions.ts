// The contract functions: one per runtime × watchdog, each with a real dependency, answering the
// routes the contract cases call (/echo, /env, /fail, /stderr, /sleep, /whoami). Plain data without
// test-runner imports, so bench/templates.mjs can bundle it too.
import type { Runtime, Watchdog } from '../../../src/plan/types.js';

const nodePackage = `${JSON.stringify(
  { name: 'contract', version: '1.0.0', private: true, dependencies: { 'is-number': '7.0.0' } },
  null,
  2,
)}\n`;

const nodeLock = `${JSON.stringify(
  {
    name: 'contract',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'contract', version: '1.0.0', dependencies: { 'is-number': '7.0.0' } },
      'node_modules/is-number': {
        version: '7.0.0',
        resolved: 'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz',
        integrity:
          'sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==',
        license: 'MIT',
        engines: { node: '>=0.12.0' },
      },
    },
  },
  null,
  2,
)}\n`;

/** One contract function per runtime × watchdog, with a real dependency each. */
export const contractFunctions: Record<
  Exclude<Runtime, 'dockerfile'>,
  Record<Watchdog, Record<string, string>>
> = {
  go: {
    classic: {
      'go.mod': 'module example.com/contract\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n',
      'go.sum': [
        'github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=',
        'github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=',
        '',
      ].join('\n'),
      'main.go': `package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
)

func main() {
	body, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	query, _ := url.ParseQuery(os.Getenv("Http_Query"))
	switch os.Getenv("Http_Path") {
	case "/env":
		json.NewEncoder(os.Stdout).Encode(map[string]string{
			"method": os.Getenv("Http_Method"),
			"path":   os.Getenv("Http_Path"),
			"query":  os.Getenv("Http_Query"),
			"header": os.Getenv("Http_X_Contract"),
			"body":   string(body),
		})
	case "/fail":
		fmt.Fprintf(os.Stderr, "FAILURE-%s\\n", query.Get("m"))
		fmt.Print("partial output")
		os.Exit(3)
	case "/stderr":
		fmt.Fprintf(os.Stderr, "NOTE-%s\\n", query.Get("m"))
		fmt.Print("ok")
	case "/sleep":
		ms, _ := strconv.Atoi(query.Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Print("slept")
	case "/whoami":
		tmp := os.WriteFile(fmt.Sprintf("/tmp/check-%d", os.Getpid()), []byte("x"), 0o600) == nil
		json.NewEncoder(os.Stdout).Encode(map[string]any{
			"uid": os.Getuid(), "gid": os.Getgid(), "tmp": tmp, "dependency": len(uuid.NewString()) == 36,
		})
	default:
		os.Stdout.Write(body)
	}
}
`,
    },
    'of-watchdog': {
      'go.mod': 'module example.com/contract\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n',
      'go.sum': [
        'github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=',
        'github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=',
        '',
      ].join('\n'),
      'handler.go': `package function

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	query := r.URL.Query()
	switch r.URL.Path {
	case "/env":
		json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method,
			"path":   r.URL.Path,
			"query":  r.URL.RawQuery,
			"header": r.Header.Get("X-Contract"),
			"body":   string(body),
		})
	case "/fail":
		panic("FAILURE-" + query.Get("m"))
	case "/stderr":
		fmt.Fprintf(os.Stderr, "NOTE-%s\\n", query.Get("m"))
		w.Write([]byte("ok"))
	case "/sleep":
		ms, _ := strconv.Atoi(query.Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Write([]byte("slept"))
	case "/whoami":
		tmp := os.WriteFile(fmt.Sprintf("/tmp/check-%d", os.Getpid()), []byte("x"), 0o600) == nil
		json.NewEncoder(w).Encode(map[string]any{
			"uid": os.Getuid(), "gid": os.Getgid(), "tmp": tmp, "dependency": len(uuid.NewString()) == 36,
		})
	default:
		w.Write(body)
	}
}
`,
    },
  },
  node: {
    classic: {
      'package.json': nodePackage,
      'package-lock.json': nodeLock,
      'index.js': `const fs = require('node:fs');
const isNumber = require('is-number');

const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  const body = Buffer.concat(chunks);
  const query = new URLSearchParams(process.env.Http_Query ?? '');
  switch (process.env.Http_Path) {
    case '/env':
      process.stdout.write(JSON.stringify({
        method: process.env.Http_Method,
        path: process.env.Http_Path,
        query: process.env.Http_Query ?? '',
        header: process.env.Http_X_Contract ?? '',
        body: body.toString(),
      }));
      break;
    case '/fail':
      process.stderr.write('FAILURE-' + query.get('m') + '\\n');
      process.stdout.write('partial output');
      process.exitCode = 3;
      break;
    case '/stderr':
      process.stderr.write('NOTE-' + query.get('m') + '\\n');
      process.stdout.write('ok');
      break;
    case '/sleep':
      setTimeout(() => process.stdout.write('slept'), Number(query.get('ms')));
      break;
    case '/whoami': {
      let tmp = true;
      try {
        fs.writeFileSync('/tmp/check-' + process.pid, 'x');
      } catch {
        tmp = false;
      }
      process.stdout.write(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), tmp, dependency: isNumber(5) }));
      break;
    }
    default:
      process.stdout.write(body);
  }
});
`,
    },
    'of-watchdog': {
      'package.json': nodePackage,
      'package-lock.json': nodeLock,
      'handler.js': `const fs = require('node:fs');
const isNumber = require('is-number');

module.exports = async (event, context) => {
  switch (event.path) {
    case '/env':
      return { method: event.method, path: event.path, query: event.rawQuery, header: event.headers['x-contract'], body: event.text() };
    case '/fail':
      throw new Error('FAILURE-' + event.query.m);
    case '/stderr':
      console.error('NOTE-' + event.query.m);
      return 'ok';
    case '/sleep':
      await new Promise((resolve) => setTimeout(resolve, Number(event.query.ms)));
      return 'slept';
    case '/whoami': {
      let tmp = true;
      try {
        fs.writeFileSync('/tmp/check-' + process.pid, 'x');
      } catch {
        tmp = false;
      }
      return { uid: process.getuid(), gid: process.getgid(), tmp, dependency: isNumber(5) };
    }
    default:
      context.headers({ 'Content-Type': event.headers['content-type'] ?? 'application/octet-stream' });
      return event.body;
  }
};
`,
    },
  },
  python: {
    classic: {
      'requirements.txt': 'six==1.16.0\n',
      'handler.py': `import json
import os
import sys
import time
from urllib.parse import parse_qs

import six

body = sys.stdin.buffer.read()
query = {k: v[0] for k, v in parse_qs(os.environ.get("Http_Query", "")).items()}
path = os.environ.get("Http_Path", "")
if path == "/env":
    json.dump({
        "method": os.environ.get("Http_Method"),
        "path": path,
        "query": os.environ.get("Http_Query", ""),
        "header": os.environ.get("Http_X_Contract", ""),
        "body": body.decode(),
    }, sys.stdout)
elif path == "/fail":
    sys.stderr.write("FAILURE-%s\\n" % query.get("m"))
    sys.stdout.write("partial output")
    sys.exit(3)
elif path == "/stderr":
    sys.stderr.write("NOTE-%s\\n" % query.get("m"))
    sys.stdout.write("ok")
elif path == "/sleep":
    time.sleep(int(query.get("ms", "0")) / 1000)
    sys.stdout.write("slept")
elif path == "/whoami":
    try:
        with open("/tmp/check-%d" % os.getpid(), "w") as f:
            f.write("x")
        tmp = True
    except OSError:
        tmp = False
    json.dump({"uid": os.getuid(), "gid": os.getgid(), "tmp": tmp, "dependency": six.PY3}, sys.stdout)
else:
    sys.stdout.buffer.write(body)
`,
    },
    'of-watchdog': {
      'requirements.txt': 'six==1.16.0\n',
      'handler.py': `import os
import sys
import time

import six


def handle(event, context):
    if event.path == "/env":
        return {
            "method": event.method,
            "path": event.path,
            "query": event.raw_query,
            "header": event.headers.get("X-Contract"),
            "body": event.text(),
        }
    if event.path == "/fail":
        raise RuntimeError("FAILURE-%s" % event.query.get("m"))
    if event.path == "/stderr":
        print("NOTE-%s" % event.query.get("m"), file=sys.stderr)
        return "ok"
    if event.path == "/sleep":
        time.sleep(int(event.query.get("ms", "0")) / 1000)
        return "slept"
    if event.path == "/whoami":
        try:
            with open("/tmp/check-%d" % os.getpid(), "w") as f:
                f.write("x")
            tmp = True
        except OSError:
            tmp = False
        return {"uid": os.getuid(), "gid": os.getgid(), "tmp": tmp, "dependency": six.PY3}
    return event.body
`,
    },
  },
};
