"""hypha's cluster mode, as docs/scaling.md deploys it: Debian's redis-server, several hypha processes sharing it
(each its own --server-id, one HYPHA_JWT_SECRET), and nginx in front as the balancer (websocket upgrade). As in
the speed recipe (docs/service.md) no websocket is compressed: hypha runs under uvicorn with
``--ws-per-message-deflate false`` and nginx drops the clients' permessage-deflate offer too
(``deflate=True`` keeps hypha's default). Every port comes from the kernel.

Each balancer port prefers one hypha process and falls back to the others (nginx ``backup`` servers): a service
replica connected through balancer ``i`` lands on hypha ``i`` while it is up, and on another one when it is not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import List, Optional

from hypha_server import HyphaServer

from pyotritonclient.testing.server import free_ports


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_ports(1)[0]
        self.process: Optional[subprocess.Popen] = None

    @property
    def uri(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> Redis:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "redis.log", "ab")
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while "Ready to accept connections" not in (self.workdir / "redis.log").read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start: " + (self.workdir / "redis.log").read_text()[-2000:])
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Balancer:
    """nginx with one port per hypha process: that process first, the others as backups."""

    def __init__(self, workdir: Path, backends: List[int], deflate: bool = False) -> None:
        self.workdir = workdir
        self.backends = backends
        self.deflate = deflate  # False: the clients' permessage-deflate offer is not passed on
        self.ports = free_ports(len(backends))
        self.process: Optional[subprocess.Popen] = None

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def start(self, timeout: float = 30) -> Balancer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        servers = []
        no_deflate = "" if self.deflate else '      proxy_set_header Sec-WebSocket-Extensions "";\n'
        for index, port in enumerate(self.ports):
            upstream = "\n".join(
                f"    server 127.0.0.1:{backend} max_fails=1 fail_timeout=2s{'' if i == index else ' backup'};"
                for i, backend in enumerate(self.backends)
            )
            servers.append(
                f"""
  upstream hypha_{index} {{
{upstream}
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://hypha_{index};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
{no_deflate}      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout http_502 http_503;
      client_max_body_size 0;
      proxy_buffering off;
    }}
  }}"""
            )
        config = f"""
worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {self.workdir}/body;
  proxy_temp_path {self.workdir}/proxy;
  fastcgi_temp_path {self.workdir}/fastcgi;
  uwsgi_temp_path {self.workdir}/uwsgi;
  scgi_temp_path {self.workdir}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
{"".join(servers)}
}}
"""
        (self.workdir / "nginx.conf").write_text(config)
        nginx = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "nginx"
        self.process = subprocess.Popen(
            [nginx, "-c", str(self.workdir / "nginx.conf"), "-p", str(self.workdir), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "nginx.out", "w"),
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url(0) + "/assets/config.json", timeout=2)
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "nginx did not start: " + (self.workdir / "nginx.out").read_text()[-2000:]
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Cluster:
    """redis, ``count`` hypha processes on it, and the balancer in front."""

    def __init__(self, cache_dir: Path, workdir: Path, count: int = 2, deflate: bool = False) -> None:
        self.redis = Redis(workdir / "redis")
        self.deflate = deflate
        self.hyphas = [
            HyphaServer(cache_dir, workdir / f"hypha-{i}", secret="pyotritonclient-cluster", deflate=deflate)
            for i in range(count)
        ]
        self.workdir = workdir
        self.balancer: Optional[Balancer] = None

    def start(self) -> Cluster:
        """Redis, the hypha processes, the balancer; what started is stopped again if a part fails."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Cluster:
        self.redis.start()
        for index, hypha in enumerate(self.hyphas):
            # (options as hypha.server's HYPHA_* variables: they reach it under uvicorn too)
            hypha.env["HYPHA_REDIS_URI"] = self.redis.uri
            hypha.env["HYPHA_SERVER_ID"] = f"hypha-{index}"
            # hypha closes a websocket that sends more than 200 messages/s (1008, "Rate limit exceeded"): a busy
            # replica does (two messages a call and more); the recipe raises it (docs/scaling.md)
            hypha.env["HYPHA_WS_MSG_RATE_LIMIT"] = "100000"
            hypha.start()
        self.balancer = Balancer(self.workdir / "nginx", [h.port for h in self.hyphas], self.deflate).start()
        return self

    def kill(self, index: int) -> None:
        """SIGKILL one hypha process (no goodbye to anyone)."""
        process = self.hyphas[index].process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        if self.balancer:
            self.balancer.stop()
        for hypha in self.hyphas:
            hypha.stop()
        self.redis.stop()
