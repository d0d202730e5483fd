"""A threaded HTTPS server on a free loopback port, for the test-only fronts
of pebble (faulty_ca.FaultyCA, acme_front.AcmeFront)."""
import ssl
import threading
from http.server import ThreadingHTTPServer


def https_start(handler, owner, cert, key):
    """Serves handler (a BaseHTTPRequestHandler class; its `owner` attribute
    is set to owner in a subclass) with cert/key in a daemon thread.
    Returns the server; its port is server.server_address[1]."""
    bound = type(handler.__name__, (handler,), {"owner": owner})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    return server


def https_stop(server):
    """Stops a server of https_start (None: nothing to do)."""
    if server:
        server.shutdown()
        server.server_close()
