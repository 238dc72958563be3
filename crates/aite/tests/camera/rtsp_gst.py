#!/usr/bin/python3
"""The simulated camera's RTSP server: GStreamer's own gst-rtsp-server (Debian
gir1.2-gst-rtsp-server-1.0, driven from the system python3-gi), tests only.

    rtsp_gst.py PORT basic|digest USER PASS ROUTE=open|auth[,ROUTE=...]

Each ROUTE is a mount point serving a live test pattern (videotestsrc ! jpegenc !
rtpjpegpay, RTP/JPEG: the x264 encoder is not in Debian's base/good plugin sets).
GstRtspServer.RTSPAuth asks for the one method given (Basic, or Digest: RFC 2617 MD5
without qop, a nonce per connection) with the account USER:PASS; an `open` route also
lets the anonymous default token in (the camera's unauthenticated stream), an `auth`
route only the account. Binds 127.0.0.1 (the test runs it inside a network namespace);
runs until killed.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

PIPELINE = "( videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=320,height=240,framerate=5/1 ! jpegenc ! rtpjpegpay name=pay0 pt=26 )"
METHODS = {"basic": GstRtsp.RTSPAuthMethod.BASIC, "digest": GstRtsp.RTSPAuthMethod.DIGEST}


def permit(factory, role, construct):
    """Let `role` see the factory, and construct (stream) its media if `construct`."""
    c = "true" if construct else "false"
    factory.add_role_from_structure(Gst.Structure.new_from_string(f"{role},media.factory.access=(boolean)true,media.factory.construct=(boolean){c}"))


def main():
    if len(sys.argv) != 6 or sys.argv[2] not in METHODS:
        sys.exit(__doc__)
    port, method, user, password, spec = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    auth = GstRtspServer.RTSPAuth()
    auth.set_supported_methods(METHODS[method])
    auth.set_realm("aite camera")
    token = GstRtspServer.RTSPToken.new()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "admin")
    if method == "basic":
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    else:
        auth.add_digest(user, password, token)
    anonymous = GstRtspServer.RTSPToken.new()
    anonymous.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "anonymous")
    mounts = server.get_mount_points()
    routes = [r.partition("=") for r in spec.split(",")]
    for route, _, kind in routes:
        if kind not in ("open", "auth"):
            sys.exit(f"rtsp_gst.py: route {route!r}: {kind!r} is neither open nor auth")
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(PIPELINE)
        factory.set_shared(True)
        permit(factory, "admin", True)
        # Anonymous clients see every route; on an `auth` route gst-rtsp-server then answers
        # 401 with the challenge (a route the role may not access at all would be a 404).
        permit(factory, "anonymous", kind == "open")
        mounts.add_factory("/" + route, factory)
    if any(kind == "open" for _, _, kind in routes):
        # Clients without credentials get the anonymous role (else every request is a 401).
        auth.set_default_token(anonymous)
    server.set_auth(auth)
    if server.attach(None) == 0:
        sys.exit(f"rtsp_gst.py: cannot listen on 127.0.0.1:{port}")
    print(f"rtsp_gst.py: GStreamer {Gst.version_string()} RTSP on 127.0.0.1:{port}, {method}, routes {spec}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
