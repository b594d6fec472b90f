"""A real Mosquitto broker (the Debian package) for the bus tests, on a free localhost port.

`Mosquitto(folder, users=..., acl=...)` writes its config (and password file, made with
`mosquitto_passwd`), starts it, and can stop and start it again on the same port (a broker restart).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

# the worker ACL the docs ship (docs/bus.md): a worker reads only its own jobs and writes only its own topics
WORKER_ACL = """user runtime
topic readwrite agentos/#

pattern read agentos/jobs/%u
pattern write agentos/runs/+/%u
pattern write agentos/workers/%u/#
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    def __init__(self, folder: Path, *, users: dict[str, str] | None = None, acl: str | None = None,
                 tls: bool = False):
        if shutil.which("mosquitto") is None:
            raise RuntimeError("mosquitto is not installed: scripts/setup.sh installs it (apt-get install mosquitto)")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.port = folder, free_port()
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "user root", "log_dest stderr",
                 "set_tcp_nodelay true",
                 "max_packet_size 8388608"]
        if users:
            passwords = folder / "passwords"
            passwords.write_text("")
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True,
                               capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if acl:
            (folder / "acl").write_text(acl)
            lines.append(f"acl_file {folder / 'acl'}")
        self.ca: Path | None = None
        if tls:  # a self-signed certificate for localhost; clients trust it as their CA
            self.ca, key = folder / "broker.crt", folder / "broker.key"
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                            "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                            "-keyout", str(key), "-out", str(self.ca)], check=True, capture_output=True)
            lines += [f"certfile {self.ca}", f"keyfile {key}"]
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "mosquitto.log"

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=self.log.open("ab"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def url(self, user: str | None = None, password: str | None = None) -> str:
        cred = f"{user}:{password}@" if user and password else (f"{user}@" if user else "")
        return f"{'mqtts' if self.ca else 'mqtt'}://{cred}{'localhost' if self.ca else '127.0.0.1'}:{self.port}"
