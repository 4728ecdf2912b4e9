# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Redis client (RESP2 over TCP or TLS) and the shared connection options.

The collection speaks the Redis protocol itself, so its modules need nothing on the
managed host but Python: factory servers rarely carry python3-redis, and an
air-gapped plant cannot pip-install it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl


def redis_argument_spec():
    """Connection options shared by the Redis modules (documented in doc_fragments/redis.py)."""
    return dict(
        login_host=dict(type="str", default="127.0.0.1"),
        login_port=dict(type="int", default=6379),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        tls=dict(type="bool", default=False),
        validate_certs=dict(type="bool", default=True),
        ca_certs=dict(type="path"),
        client_cert_file=dict(type="path"),
        client_key_file=dict(type="path"),
        connect_timeout=dict(type="float", default=5.0),
    )


class RedisError(Exception):
    """An error reply from the server (the text after '-')."""

    @property
    def code(self):
        """The word Redis starts an error reply with: ERR, NOPERM, WRONGPASS, NOAUTH..."""
        return str(self).split(" ", 1)[0]


class RedisConnectionError(Exception):
    """The server could not be reached or closed the connection."""


class RedisClient:
    """Just enough RESP2 for configuration: commands in, replies out."""

    def __init__(
        self, host, port, timeout=5.0, tls=False, ca_certs=None, certfile=None, keyfile=None, validate_certs=True
    ):
        self.where = "%s:%s" % (host, port)
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise RedisConnectionError("cannot reach Redis at %s: %s" % (self.where, exc)) from exc
        if tls:
            context = ssl.create_default_context(cafile=ca_certs)
            if not validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if certfile:
                context.load_cert_chain(certfile, keyfile)
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, OSError) as exc:
                sock.close()
                raise RedisConnectionError("TLS handshake with %s failed: %s" % (self.where, exc)) from exc
        self.sock = sock
        self.reader = sock.makefile("rb")

    def close(self):
        try:
            self.reader.close()
            self.sock.close()
        except OSError:
            pass

    def command(self, *args):
        """Send one command and return its reply; an error reply raises RedisError."""
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        try:
            self.sock.sendall(b"".join(parts))
            return self._read_reply()
        except (OSError, socket.timeout) as exc:
            raise RedisConnectionError("lost the connection to %s: %s" % (self.where, exc)) from exc

    def _readline(self):
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise RedisConnectionError("%s closed the connection" % self.where)
        return line[:-2]

    def _read_reply(self):
        line = self._readline()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode("utf-8")
        if kind == b"-":
            raise RedisError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            data = self.reader.read(length + 2)[:-2]
            return data.decode("utf-8", "replace")
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            return [self._read_reply() for _index in range(count)]
        raise RedisConnectionError("unexpected reply from %s: %r" % (self.where, line[:40]))


def login_description(login_user):
    """Who a command ran as, for messages."""
    return "user %r" % login_user if login_user else "the default user"


def login_refusal_message(where, login_user, error):
    """The message for an error reply to AUTH or to the first command, naming what to change.

    The replies are Redis's (src/acl.c, src/server.c): WRONGPASS from ACLAuthenticateUser(),
    NOAUTH from processCommand() before a client has logged in, and an ERR from authCommand()
    for AUTH <password> while the default user has none.
    """
    refused = "Redis at %s refused %s: %s" % (where, login_description(login_user), error)
    if error.code == "WRONGPASS" and login_user:
        return (
            "login_user, login_password: %s Check that login_password is the user's password and that the "
            "user exists and is on (ACL GETUSER %s)" % (refused, login_user)
        )
    if error.code == "WRONGPASS":
        return (
            "login_password: %s login_password is not the default user's password (requirepass); set "
            "login_user to log in as an ACL user" % refused
        )
    if error.code == "NOAUTH":
        return (
            "login_password: Redis at %s requires a password and login_password is not set: %s Set login_user "
            "and login_password, or login_password alone for the default user (requirepass)" % (where, error)
        )
    if "called without any password configured" in str(error):
        return (
            "login_password: %s The default user has no password: set login_user to the ACL user "
            "login_password belongs to, or leave login_password out" % refused
        )
    return "login_user: %s" % refused


def connect(module):
    """Connect and authenticate with the module's connection options, or fail clearly."""
    params = module.params
    try:
        client = RedisClient(
            params["login_host"],
            params["login_port"],
            timeout=params["connect_timeout"],
            tls=params["tls"],
            ca_certs=params["ca_certs"],
            certfile=params["client_cert_file"],
            keyfile=params["client_key_file"],
            validate_certs=params["validate_certs"],
        )
    except RedisConnectionError as exc:
        module.fail_json(msg=str(exc))
    try:
        if params["login_user"]:
            # Also without a password: a nopass user accepts any, and sending no AUTH would
            # run everything as the default user instead.
            client.command("AUTH", params["login_user"], params["login_password"] or "")
        elif params["login_password"]:
            client.command("AUTH", params["login_password"])
        try:
            client.command("PING")
        except RedisError as exc:
            # NOPERM comes after the login check: a user without +ping is logged in.
            if exc.code != "NOPERM":
                raise
    except RedisError as exc:
        client.close()
        module.fail_json(msg=login_refusal_message(client.where, params["login_user"], exc))
    except RedisConnectionError as exc:
        module.fail_json(msg=str(exc))
    return client
