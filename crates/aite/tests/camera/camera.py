#!/usr/bin/env python3
"""Small responders of the simulated AI camera (tests only, standard library only).

    camera.py rtsp  PORT ROUTES             RTSP/1.0: ROUTES is route=open|basic:USER:PASS|digest:USER:PASS,...
    camera.py onvif PORT open|token USER PASS  ONVIF device service (SOAP 1.2 over HTTP)
    camera.py oip   PORT open|basic USER PASS  Open Inference Protocol (KServe v2 REST) with one model

Every responder binds 127.0.0.1 (the test runs it inside a network namespace) and
answers in the published format: RTSP DESCRIBE with an SDP body (RFC 2326, Digest
RFC 2617 MD5 without qop as GStreamer's rtsp-server sends it), ONVIF
GetSystemDateAndTime (to anyone), GetDeviceInformation / GetUsers with WS-Security UsernameToken PasswordDigest
(Base64(SHA-1(nonce + created + password))), OIP /v2 metadata, model metadata, infer
(with input validation: malformed input is a 400) and the repository index. The OIP
load/unload routes exist and refuse to act (the probe must never call them: a call
is logged to stderr and answered 500).

The HTTP responders' Server header: the vulnerable modes (open) keep http.server's default,
which names Python's version ("aite-camera-onvif Python/3.11.2"); the hardened ones (token,
basic) send their name only. The vulnerable ONVIF port also serves the camera's web page at
GET / without credentials (cameras commonly carry both on one port); the hardened one 404s.
"""
import base64, datetime, hashlib, http.server, json, os, re, socket, socketserver, sys, threading

HOST = "127.0.0.1"


# ---------------------------------------------------------------- RTSP
SDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=aite camera\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:stream=0\r\n"


def digest_ok(header, method, user, password, realm, nonce):
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', header[len("Digest "):]))
    if fields.get("username") != user or fields.get("nonce") != nonce or fields.get("realm") != realm:
        return False
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{fields.get('uri', '')}".encode()).hexdigest()
    if "qop" in fields:
        want = hashlib.md5(f"{ha1}:{nonce}:{fields.get('nc')}:{fields.get('cnonce')}:{fields['qop']}:{ha2}".encode()).hexdigest()
    else:
        want = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    return fields.get("response") == want


class RtspHandler(socketserver.StreamRequestHandler):
    routes = {}
    realm = "aite camera"

    def handle(self):
        nonce = os.urandom(8).hex()
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if not line.strip():
                continue
            parts = line.decode("latin-1").split()
            headers = {}
            while True:
                h = self.rfile.readline().decode("latin-1")
                if not h.strip():
                    break
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            method, url = parts[0], parts[1] if len(parts) > 1 else "/"
            cseq = headers.get("cseq", "0")
            path = re.sub(r"^rtsp://[^/]*", "", url).lstrip("/")
            if method == "OPTIONS":
                self.reply(200, cseq, ["Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"])
                continue
            if method != "DESCRIBE":
                self.reply(405, cseq)
                continue
            auth = self.routes.get(path)
            if auth is None:
                self.reply(404, cseq)
                continue
            given = headers.get("authorization", "")
            if auth[0] == "basic":
                ok = given == "Basic " + base64.b64encode(f"{auth[1]}:{auth[2]}".encode()).decode()
                challenge = f'Basic realm="{self.realm}"'
            elif auth[0] == "digest":
                ok = given.startswith("Digest ") and digest_ok(given, "DESCRIBE", auth[1], auth[2], self.realm, nonce)
                challenge = f'Digest realm="{self.realm}", nonce="{nonce}"'
            else:
                ok, challenge = True, None
            if not ok:
                self.reply(401, cseq, [f"WWW-Authenticate: {challenge}"])
                continue
            self.reply(200, cseq, ["Content-Type: application/sdp", f"Content-Base: {url.rstrip('/')}/"], SDP)

    def reply(self, status, cseq, headers=(), body=""):
        reason = {200: "OK", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}[status]
        head = [f"RTSP/1.0 {status} {reason}", f"CSeq: {cseq}", "Server: aite-camera-rtsp"] + list(headers)
        head.append(f"Content-Length: {len(body.encode())}")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n" + body).encode())


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


# ---------------------------------------------------------------- ONVIF
SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"


def envelope(body):
    return f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{SOAP_NS}" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:ter="http://www.onvif.org/ver10/error"><env:Body>{body}</env:Body></env:Envelope>'


NOT_AUTHORIZED = envelope('<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">Sender not Authorized</env:Text></env:Reason></env:Fault>')


def token_ok(body, user, password):
    """WS-Security UsernameToken, PasswordDigest (ONVIF Core 5.12.2.1)."""
    u = re.search(r"<(?:\w+:)?Username>([^<]*)<", body)
    p = re.search(r"<(?:\w+:)?Password[^>]*>([^<]*)<", body)
    n = re.search(r"<(?:\w+:)?Nonce[^>]*>([^<]*)<", body)
    c = re.search(r"<(?:\w+:)?Created>([^<]*)<", body)
    if not (u and p and n and c) or u.group(1) != user:
        return False
    want = base64.b64encode(hashlib.sha1(base64.b64decode(n.group(1)) + c.group(1).encode() + password.encode()).digest()).decode()
    return p.group(1) == want


class VersionByMode:
    """The hardened modes name no version in their Server header."""

    def version_string(self):
        return super().version_string() if self.mode == "open" else self.server_version


class OnvifHandler(VersionByMode, http.server.BaseHTTPRequestHandler):
    mode, user, password = "open", "", ""
    server_version = "aite-camera-onvif"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="application/soap+xml; charset=utf-8"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.mode == "open" and self.path == "/":
            return self.send(200, "<html><body>camera: live view, settings</body></html>\n", "text/html")
        self.send(404, "not found", "text/plain")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)).decode("utf-8", "replace")
        if self.path != "/onvif/device_service":
            return self.send(404, "not found", "text/plain")
        if "GetSystemDateAndTime" in body:
            # Pre-authentication class (ONVIF Core): the clock clients make their tokens' Created on.
            t = datetime.datetime.now(datetime.timezone.utc)
            return self.send(200, envelope(f"<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime><tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute><tt:Second>{t.second}</tt:Second></tt:Time><tt:Date><tt:Year>{t.year}</tt:Year><tt:Month>{t.month}</tt:Month><tt:Day>{t.day}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"))
        action = "GetUsers" if "GetUsers" in body else "GetDeviceInformation" if "GetDeviceInformation" in body else None
        if action is None:
            return self.send(400, envelope('<env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">unsupported action</env:Text></env:Reason></env:Fault>'))
        # The vulnerable camera answers GetDeviceInformation to anyone (a common firmware
        # default) and asks a token for GetUsers; the hardened one asks it for both.
        needs_token = self.mode == "token" or action == "GetUsers"
        if needs_token and not token_ok(body, self.user, self.password):
            return self.send(400, NOT_AUTHORIZED)
        if action == "GetDeviceInformation":
            self.send(200, envelope("<tds:GetDeviceInformationResponse><tds:Manufacturer>aite</tds:Manufacturer><tds:Model>simulated-camera</tds:Model><tds:FirmwareVersion>1.0</tds:FirmwareVersion><tds:SerialNumber>0001</tds:SerialNumber><tds:HardwareId>sim</tds:HardwareId></tds:GetDeviceInformationResponse>"))
        else:
            self.send(200, envelope(f"<tds:GetUsersResponse><tds:User><tt:Username>{self.user}</tt:Username><tt:UserLevel>Administrator</tt:UserLevel></tds:User></tds:GetUsersResponse>"))


# ---------------------------------------------------------------- OIP
MODEL = {"name": "digits", "versions": ["1"], "platform": "onnx", "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4]}], "outputs": [{"name": "output", "datatype": "FP32", "shape": [1, 2]}]}


DTYPES = {"FP32": 4, "FP16": 2, "INT64": 8, "INT32": 4, "UINT8": 1, "BOOL": 1}


class OipHandler(VersionByMode, http.server.BaseHTTPRequestHandler):
    mode, user, password = "open", "", ""
    server_version = "aite-camera-oip"
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def log_error(self, *a):
        pass

    def send(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="inference"')
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.mode == "open":
            return True
        want = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return self.headers.get("Authorization") == want

    def do_GET(self):
        if not self.authorized():
            return self.send(401, {"error": "unauthorized"})
        if self.path == "/v2":
            return self.send(200, {"name": "aite-camera-oip", "version": "1.0", "extensions": ["model_repository"]})
        if self.path in ("/v2/health/ready", "/v2/health/live"):
            return self.send(200, {})
        if self.path == "/v2/models/digits":
            return self.send(200, MODEL)
        self.send(404, {"error": f"not found: {self.path}"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0") or 0)
        if length > 4 * 1024 * 1024:
            return self.send(413, {"error": "request too large"})
        raw = self.rfile.read(length)
        if not self.authorized():
            return self.send(401, {"error": "unauthorized"})
        if re.fullmatch(r"/v2/repository/models/[^/]+/(load|unload)", self.path):
            print(f"camera.py oip: {self.path} was CALLED", file=sys.stderr, flush=True)
            return self.send(500, {"error": "the probe must never call load/unload"})
        if self.path == "/v2/repository/index":
            return self.send(200, [{"name": "digits", "version": "1", "state": "READY"}])
        if self.path not in ("/v2/models/digits/infer", "/v2/models/digits/versions/1/infer"):
            return self.send(404, {"error": f"not found: {self.path}"})
        if self.mode == "open":
            # The vulnerable server looks the datatype up before validating (a KeyError:
            # http.server drops the connection without an answer, as a crashed worker would).
            req = json.loads(raw) if raw.startswith(b"{") and raw.endswith(b"}") else {}
            for i in req.get("inputs", []):
                DTYPES[i.get("datatype")]
        try:
            req = json.loads(raw)
            inp = req["inputs"][0]
            if inp["name"] != "input" or inp["datatype"] != "FP32":
                raise ValueError("unexpected input name or datatype")
            shape = inp["shape"]
            if shape != [1, 4]:
                raise ValueError(f"shape {shape} is not [1, 4]")
            data = [float(x) for x in inp["data"]]
            if len(data) != 4:
                raise ValueError("data does not match the shape")
        except (ValueError, KeyError, TypeError, IndexError) as e:
            return self.send(400, {"error": f"bad request: {e}"})
        self.send(200, {"model_name": "digits", "outputs": [{"name": "output", "datatype": "FP32", "shape": [1, 2], "data": [sum(data), 0.0]}]})


class HttpServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "rtsp":
        for spec in sys.argv[3].split(","):
            route, _, auth = spec.partition("=")
            RtspHandler.routes[route] = tuple(auth.split(":", 2))
        server = Server((HOST, port), RtspHandler)
    elif kind in ("onvif", "oip"):
        handler = OnvifHandler if kind == "onvif" else OipHandler
        handler.mode, handler.user, handler.password = sys.argv[3], sys.argv[4], sys.argv[5]
        server = HttpServer((HOST, port), handler)
    else:
        sys.exit(f"unknown responder {kind}")
    print(f"camera.py {kind} listening on {HOST}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
