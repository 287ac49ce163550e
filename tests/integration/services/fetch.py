"""Downloads from Maven Central, cached and verified by the checksum published beside each file."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

MAVEN = "https://repo1.maven.org/maven2"


class FetchError(RuntimeError):
    """A download failed or did not match its published checksum."""


def maven_url(group: str, artifact: str, version: str, ext: str, classifier: str = "") -> str:
    name = f"{artifact}-{version}" + (f"-{classifier}" if classifier else "") + f".{ext}"
    return f"{MAVEN}/{group.replace('.', '/')}/{artifact}/{version}/{name}"


def _get(url: str, timeout: float = 60) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()


def _digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _published_checksum(url: str, dest: Path) -> tuple[str, str]:
    """(algorithm, hex digest) from `<url>.sha512`, else `<url>.sha1`; cached beside `dest`."""
    for algo in ("sha512", "sha1"):
        cached = dest.with_name(dest.name + f".{algo}")
        if not cached.exists():
            try:
                cached.write_bytes(_get(f"{url}.{algo}"))
            except OSError:
                continue
        return algo, cached.read_text().split()[0].strip().lower()
    raise FetchError(f"no .sha512 or .sha1 published for {url}")


def fetch(url: str, dest: Path, log=print) -> Path:
    """Download `url` to `dest` once; verify it against Maven's checksum every time it is used."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    algo, expected = _published_checksum(url, dest)
    if dest.exists() and _digest(dest, algo) == expected:
        return dest
    tmp = dest.with_name(dest.name + ".part")
    started = time.monotonic()
    for attempt in range(1, 4):
        try:
            with urllib.request.urlopen(url, timeout=120) as resp, tmp.open("wb") as out:
                shutil.copyfileobj(resp, out, 1 << 20)
            break
        except OSError as exc:
            if attempt == 3:
                raise FetchError(f"download of {url} failed: {exc}") from exc
            time.sleep(2 * attempt)
    actual = _digest(tmp, algo)
    if actual != expected:
        tmp.unlink()
        raise FetchError(f"{url}: {algo} {actual} does not match the published {expected}")
    tmp.replace(dest)
    size = dest.stat().st_size / 1e6
    log(f"fetched {dest.name} ({size:.0f} MB, {algo} ok) in {time.monotonic() - started:.1f}s")
    return dest


def unpack(archive: Path, into: Path, strip_top: bool = True) -> Path:
    """Unpack a .tar.gz or .zip into `into` (once: a marker records the archive's name)."""
    marker = into / ".unpacked"
    if marker.exists() and marker.read_text() == archive.name:
        return into
    if into.exists():
        shutil.rmtree(into)
    tmp = into.with_name(into.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
    else:
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
    src = tmp
    children = list(tmp.iterdir())
    if strip_top and len(children) == 1 and children[0].is_dir():
        src = children[0]
    src.replace(into)
    if tmp.exists():
        shutil.rmtree(tmp)
    marker.write_text(archive.name)
    return into


def maven_dependencies(pom: Path, out: Path, props: dict[str, str], log=print) -> Path:
    """Copy a POM's runtime dependencies into `out` with `mvn -C` (strict checksums)."""
    marker = out / ".resolved"
    key = " ".join(f"{k}={v}" for k, v in sorted(props.items()))
    if marker.exists() and marker.read_text() == key:
        return out
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError("Maven (`mvn`) is needed to resolve Kafka's jars: apt-get install maven")
    if out.exists():
        shutil.rmtree(out)
    started = time.monotonic()
    cmd = [
        mvn,
        "-q",
        "-B",
        "-C",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={out}",
        *[f"-D{k}={v}" for k, v in props.items()],
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise FetchError(f"mvn failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    marker.write_text(key)
    jars = len(list(out.glob("*.jar")))
    log(f"resolved {jars} jars into {out} in {time.monotonic() - started:.1f}s")
    return out
