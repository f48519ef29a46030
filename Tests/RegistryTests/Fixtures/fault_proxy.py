#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a real registry, for the registry client's tests.

It forwards every request to the upstream registry and, on command, misbehaves:

* rules (POST /__control/faults, a JSON list) make matching requests fail: answer a status
  (with Retry-After), or reset the connection half way through the request body; or act
  hostile: "redirect" answers a redirect to "location" ("{path}" is the request's path and
  query), "relocate" forwards the request and points the answer's Location at "origin",
  "serve" answers 200 with "body" (text) and "content_type";
* a blob upload session URL PUT a second time answers 416 BLOB_UPLOAD_INVALID, as ECR does;
* "kill_after_blob_puts": N resets every request once N blob uploads have completed;
* --bearer puts a token-auth front on the registry: 401 with a Bearer challenge, a token
  endpoint at /token (optionally demanding Basic credentials), tokens checked per scope.
  --token-ttl is the lifetime clients are told; the proxy itself never expires a token, so a
  slow machine cannot turn a test's token count into a race (clients' clocks are the tests').

GET /__control/log returns every request seen (method, path, status, fault, and auth: the
scheme of its Authorization header or null); GET
/__control/tokens every token request (scopes, whether Basic credentials came with it).
"""

import argparse
import base64
import http.client
import json
import os
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.upstream = args.upstream
        self.bearer = args.bearer
        self.token_user = args.token_user
        self.token_password = args.token_password
        self.token_ttl = args.token_ttl
        self.rules = []
        self.kill_after_blob_puts = None
        self.blob_puts_done = 0
        self.used_sessions = set()
        self.log = []
        self.token_log = []
        self.tokens = {}  # token -> (set of scopes, None); see --token-ttl


STATE = None


def scope_actions(scopes, repository):
    actions = set()
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) == 3 and parts[0] == "repository" and parts[1] == repository:
            actions.update(parts[2].split(","))
    return actions


def repository_of(path):
    # /v2/<name>/(blobs|manifests|tags)/...
    rest = path[len("/v2/"):]
    for marker in ("/blobs/", "/manifests/", "/tags/"):
        index = rest.find(marker)
        if index > 0:
            return rest[:index]
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # -- helpers --------------------------------------------------------------------------

    def read_body(self, limit=None):
        length = self.headers.get("Content-Length")
        if length is not None:
            length = int(length)
            if limit is not None:
                return self.rfile.read(min(limit, length))
            return self.rfile.read(length) if length else b""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def respond(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def reset(self):
        """Closes the connection with a TCP reset, as a dropped connection looks to the client."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def record(self, status, fault=None):
        with STATE.lock:
            auth = (self.headers.get("Authorization") or "").split(" ")[0] or None
            STATE.log.append({"method": self.command, "path": self.path, "status": status, "fault": fault, "auth": auth})

    def registry_error(self, status, code, message, headers=None):
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        all_headers = {"Content-Type": "application/json"}
        all_headers.update(headers or {})
        self.respond(status, body, all_headers)

    # -- control ----------------------------------------------------------------------------

    def control(self):
        if self.path == "/__control/faults" and self.command == "POST":
            config = json.loads(self.read_body() or b"{}")
            with STATE.lock:
                STATE.rules = config.get("rules", [])
                STATE.kill_after_blob_puts = config.get("kill_after_blob_puts")
                STATE.blob_puts_done = 0
            self.respond(200, b"{}")
        elif self.path == "/__control/log":
            with STATE.lock:
                body = json.dumps(STATE.log).encode()
            self.respond(200, body, {"Content-Type": "application/json"})
        elif self.path == "/__control/tokens":
            with STATE.lock:
                body = json.dumps(STATE.token_log).encode()
            self.respond(200, body, {"Content-Type": "application/json"})
        elif self.path == "/__control/clear" and self.command == "POST":
            self.read_body()
            with STATE.lock:
                STATE.log = []
                STATE.token_log = []
            self.respond(200, b"{}")
        else:
            self.respond(404, b"unknown control path")

    # -- token auth -------------------------------------------------------------------------

    def token_endpoint(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        scopes = query.get("scope", [])
        auth = self.headers.get("Authorization") or ""
        had_basic = auth.startswith("Basic ")
        with STATE.lock:
            STATE.token_log.append({"scopes": scopes, "service": query.get("service", [None])[0], "basic": had_basic})
        if STATE.token_user is not None:
            expected = "Basic " + base64.b64encode(f"{STATE.token_user}:{STATE.token_password}".encode()).decode()
            if auth != expected:
                self.record(401, "token-denied")
                self.registry_error(401, "UNAUTHORIZED", "bad credentials for the token endpoint")
                return
        token = secrets.token_hex(16)
        with STATE.lock:
            STATE.tokens[token] = (set(scopes), None)
        self.record(200, "token")
        self.respond(200, json.dumps({"token": token, "expires_in": STATE.token_ttl}).encode(),
                     {"Content-Type": "application/json"})

    def bearer_allows(self):
        path = urllib.parse.urlsplit(self.path).path
        repository = repository_of(path)
        needed = "pull" if self.command in ("GET", "HEAD") else "push"
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            with STATE.lock:
                granted = STATE.tokens.get(auth[len("Bearer "):])
            if granted:
                if repository is None or needed in scope_actions(granted[0], repository):
                    return True
        actions = "pull" if needed == "pull" else "pull,push"
        scope = f',scope="repository:{repository}:{actions}"' if repository else ""
        host = self.headers.get("Host")
        challenge = f'Bearer realm="http://{host}/token",service="fake-registry"{scope}'
        self.read_body()
        self.record(401, "challenge")
        self.registry_error(401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": challenge})
        return False

    # -- faults -------------------------------------------------------------------------------

    def matching_rule(self):
        with STATE.lock:
            for rule in STATE.rules:
                if rule.get("times", 1) <= 0:
                    continue
                if rule.get("method") and rule["method"] != self.command:
                    continue
                if rule.get("path") and rule["path"] not in self.path:
                    continue
                rule["times"] = rule.get("times", 1) - 1
                return dict(rule)
        return None

    def handle_any(self):
        if self.path.startswith("/__control/"):
            return self.control()
        with STATE.lock:
            killed = STATE.kill_after_blob_puts is not None and STATE.blob_puts_done >= STATE.kill_after_blob_puts
        if killed:
            self.record(None, "killed")
            return self.reset()
        if self.path.startswith("/token"):
            return self.token_endpoint()
        if STATE.bearer and self.path.startswith("/v2/") and not self.bearer_allows():
            return

        path_only = urllib.parse.urlsplit(self.path).path
        is_session_put = self.command == "PUT" and "/blobs/uploads/" in path_only
        if is_session_put:
            with STATE.lock:
                reused = path_only in STATE.used_sessions
                STATE.used_sessions.add(path_only)
            if reused:
                self.read_body()
                self.record(416, "reused-session")
                return self.registry_error(416, "BLOB_UPLOAD_INVALID", "upload session already used")

        rule = self.matching_rule()
        relocate = None
        if rule and rule.get("action") == "relocate":
            relocate, rule = rule["origin"], None
        if rule:
            action = rule.get("action", "status")
            if action == "redirect":
                self.read_body()
                self.record(int(rule.get("status", 307)), "redirect")
                location = rule["location"].replace("{path}", self.path)
                return self.respond(int(rule.get("status", 307)), b"", {"Location": location})
            if action == "serve":
                self.read_body()
                self.record(200, "serve")
                return self.respond(200, rule["body"].encode(), {"Content-Type": rule.get("content_type", "application/octet-stream")})
            if action == "reset":
                length = int(self.headers.get("Content-Length") or 0)
                self.read_body(limit=length // 2)
                self.record(None, "reset")
                return self.reset()
            self.read_body()
            headers = {}
            if rule.get("retry_after") is not None:
                headers["Retry-After"] = str(rule["retry_after"])
            status = int(rule.get("status", 500))
            self.record(status, "status")
            return self.registry_error(status, "INJECTED", "injected fault", headers)

        body = self.read_body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if STATE.bearer:
            headers.pop("Authorization", None)
        host, port = STATE.upstream.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        try:
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            if body and "Content-Length" not in self.headers:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body if body else None)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if is_session_put and response.status == 201:
            with STATE.lock:
                STATE.blob_puts_done += 1
        self.record(response.status, "relocate" if relocate else None)
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                if relocate and name.lower() == "location":
                    parts = urllib.parse.urlsplit(value)
                    value = relocate + urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", response.getheader("Content-Length") or "0")
            self.end_headers()
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Resets are deliberate; a traceback per reset would only be noise.
        pass


def main():
    global STATE
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the real registry")
    parser.add_argument("--bearer", action="store_true", help="demand Bearer tokens from /token")
    parser.add_argument("--token-user")
    parser.add_argument("--token-password")
    parser.add_argument("--token-ttl", type=int, default=60)
    args = parser.parse_args()
    # The test runner may start us with SIGTERM blocked; make sure a stop request ends the process.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    STATE = State(args)
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
