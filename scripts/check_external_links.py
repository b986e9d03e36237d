"""Check the built book's external links where the network reaches them; offline it says so and exits 0.

Internal links and anchors are checked by ``scripts/check_site.py`` on every run. External links (bibliography DOIs,
package pages, launch buttons) need the network: a link whose host cannot be reached (no network, or a sandbox that
only reaches package registries) is listed as "not checked", never as broken. Only an HTTP error status fails the
check. Links into the configured repository (launch buttons) are warnings only, because a fork changes that URL.

Usage: python scripts/check_external_links.py _build/html [--timeout 10]
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HREF = re.compile(r'href="(https?://[^"#]+)')
PROBE_HOSTS = (("pypi.org", 443), ("doi.org", 443))


def online(timeout: float = 3.0) -> bool:
    for host, port in PROBE_HOSTS:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return True
        except OSError:
            continue
    return False


def external_links(build: Path) -> dict[str, set[str]]:
    links: dict[str, set[str]] = {}
    for page in build.rglob("*.html"):
        if "_static" in page.parts:
            continue
        for url in HREF.findall(page.read_text(encoding="utf-8", errors="replace")):
            links.setdefault(url.replace("&amp;", "&"), set()).add(str(page.relative_to(build)))
    return links


def status(url: str, timeout: float) -> int | str:
    headers = {"User-Agent": "mirage-book-linkcheck/1.0"}
    for method in ("HEAD", "GET"):
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, method=method, headers=headers), timeout=timeout
            ) as r:
                return r.status
        except urllib.error.HTTPError as err:
            if method == "GET" or err.code not in (403, 405):
                return err.code
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            return f"error: {err}"
    return "unreachable"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    links = external_links(args.build)
    if not online():
        print(
            f"check_external_links: no network; skipped {len(links)} external links "
            "(internal links are checked by check_site.py)"
        )
        return 0
    repo = yaml.safe_load((ROOT / "_config.yml").read_text()).get("repository", {}).get("url", "")
    repo_key = repo.split("github.com/")[-1] if repo else None
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(links, pool.map(lambda u: status(u, args.timeout), links)))
    broken, warnings, unchecked = [], [], []
    for url, code in sorted(results.items()):
        if isinstance(code, int) and code < 400:
            continue
        if not isinstance(code, int):
            unchecked.append(url)
            continue
        target = warnings if (repo_key and repo_key in url) or code == 429 else broken
        target.append(f"{code}  {url}  (on {', '.join(sorted(links[url])[:3])})")
    for line in warnings:
        print(f"warning  {line}")
    for line in broken:
        print(f"BROKEN   {line}")
    print(
        f"{len(links)} external links: {len(links) - len(unchecked) - len(broken) - len(warnings)} ok, "
        f"{len(broken)} broken, {len(warnings)} warnings, {len(unchecked)} not checked (host unreachable from here)"
    )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
