#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The upload page in a real browser: headless Chromium (Debian's chromium, chromium-driver,
# python3-selenium) against the real ftx binary on 127.0.0.1. Uploads two files and a folder
# through the page's file inputs, waits for every result, checks the files in DIR byte for
# byte and takes a screenshot of the page. Then a big upload broken half way (the Wi-Fi
# drops) is picked again and the page resumes it from what the server kept. Last, the room:
# a line sent from the page reaches an `ftx chat` receiver, the page's user is in WHO, and a
# line from `ftx chat` appears in the page.
#   upload_page_test.py FTX_BINARY [SCREENSHOT.png]
# Exit 0: passed, 1: failed, 77: skipped (no browser here), as meson reads it.
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77


def reexec_with_system_python():
    # Debian's python3-selenium lives in the system interpreter, which another python3
    # first on PATH (pyenv, a venv) does not see.
    system = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(system) and os.path.exists(system) \
            and not os.environ.get("FTX_BROWSER_REEXEC"):
        os.environ["FTX_BROWSER_REEXEC"] = "1"
        os.execv(system, [system] + sys.argv)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    reexec_with_system_python()
    print("SKIP: python3-selenium is not installed")
    sys.exit(SKIP)


def find(*names):
    for n in names:
        path = shutil.which(n) or (n if os.path.exists(n) else None)
        if path:
            return path
    return None


def start_server(ftx, inbox, log):
    proc = subprocess.Popen([ftx, "serve", "--host", "127.0.0.1", "--port", "0", "--dir", str(inbox), "--share"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        m = re.search(r"on 127\.0\.0\.1:(\d+)", pathlib.Path(log.name).read_text(errors="replace"))
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError("ftx serve did not start: " + pathlib.Path(log.name).read_text(errors="replace"))


def browser():
    chromium = find("chromium", "/usr/lib/chromium/chromium")
    driver = find("chromedriver", "/usr/lib/chromium/chromedriver")
    if not chromium or not driver:
        print("SKIP: chromium and chromium-driver are not installed")
        sys.exit(SKIP)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    # In a container, as root: no sandbox, a small /dev/shm.
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=820,1500", "--no-first-run", "--disable-extensions"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


def break_upload(port, path, data, tid, mtime_ms, sent):
    """A PUT of the page's kind that stops after `sent` bytes, as a dropped connection does."""
    import socket
    import urllib.parse
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        head = (f"PUT /{urllib.parse.quote(path)} HTTP/1.1\r\nHost: x\r\nFtx-Transfer-Id: {tid}\r\n"
                f"Ftx-Mtime: {mtime_ms}\r\nContent-Length: {len(data)}\r\n\r\n")
        s.sendall(head.encode() + data[:sent])


def kept_offset(port, path, size, tid, mtime_ms):
    import json
    import urllib.parse
    import urllib.request
    url = (f"http://127.0.0.1:{port}/.ftx/offset?id={tid}&name={urllib.parse.quote(path)}"
           f"&size={size}&mtime={mtime_ms}")
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)["offset"]


def check_resume(d, port, src, inbox):
    """Breaks an upload of big.bin, then picks it in the page: it must resume and arrive whole."""
    data = os.urandom(2 * 1024 * 1024 + 5)
    big = src / "big.bin"
    big.write_bytes(data)
    mtime_ms = int(big.stat().st_mtime * 1000)
    tid = d.execute_script("return window.ftxTransferId(arguments[0], arguments[1], arguments[2]);",
                           "big.bin", len(data), mtime_ms)
    break_upload(port, "big.bin", data, tid, mtime_ms, 700_000)
    deadline = time.monotonic() + 10
    kept = 0
    while kept == 0 and time.monotonic() < deadline:
        kept = kept_offset(port, "big.bin", len(data), tid, mtime_ms)
        time.sleep(0.05)
    if kept == 0:
        print("big.bin: the server kept nothing of the broken upload")
        return False
    before = len(d.find_elements(By.CSS_SELECTOR, "li.file"))
    d.find_element(By.ID, "pick-files").send_keys(str(big))
    WebDriverWait(d, 60).until(
        lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "li.file")) == before + 1
        and drv.find_elements(By.CSS_SELECTOR, "li.file")[-1].get_attribute("data-state"))
    li = d.find_elements(By.CSS_SELECTOR, "li.file")[-1]
    state, status = li.get_attribute("data-state"), li.find_element(By.CLASS_NAME, "status").text
    same = (inbox / "big.bin").is_file() and (inbox / "big.bin").read_bytes() == data
    print(f"big.bin: kept {kept} bytes; {state}: {status} {'(same bytes)' if same else '(DIFFERS)'}")
    return state == "done" and same and "resumed at" in status


def check_same_again(d, src, inbox):
    """Picks notes.txt a second time: the server keeps the file it has, and the page says so."""
    before = len(d.find_elements(By.CSS_SELECTOR, "li.file"))
    d.find_element(By.ID, "pick-files").send_keys(str(src / "notes.txt"))
    WebDriverWait(d, 60).until(
        lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "li.file")) == before + 1
        and drv.find_elements(By.CSS_SELECTOR, "li.file")[-1].get_attribute("data-state"))
    li = d.find_elements(By.CSS_SELECTOR, "li.file")[-1]
    state, status = li.get_attribute("data-state"), li.find_element(By.CLASS_NAME, "status").text
    copies = sorted(p.name for p in inbox.glob("notes*"))
    print(f"notes.txt again: {state}: {status}; in the inbox: {copies}")
    return state == "done" and "unchanged: already there as notes.txt" in status and copies == ["notes.txt"]


def check_room(d, ftx, port, tmp):
    """The page joins the room as carol; lines go both ways with ftx chat."""
    out = open(tmp / "bob.out", "w")
    bob = subprocess.Popen([ftx, "chat", "--plain", f"127.0.0.1:{port}", "--name", "bob", "--recv-only"],
                           stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        def bob_says(text):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if text in (tmp / "bob.out").read_text(errors="replace"):
                    return True
                time.sleep(0.05)
            return False
        d.find_element(By.ID, "nick").send_keys("carol")
        d.find_element(By.CSS_SELECTOR, "#join button").click()
        WebDriverWait(d, 20).until(lambda drv: drv.find_element(By.ID, "chat").is_displayed())
        if not bob_says("carol joined"):
            print("room: ftx chat never saw the page join")
            return False
        d.find_element(By.ID, "line").send_keys("hello from the browser")
        d.find_element(By.CSS_SELECTOR, "#say button").click()
        if not bob_says("<carol> hello from the browser"):
            print("room: the page's line did not reach ftx chat:", (tmp / "bob.out").read_text())
            return False
        import socket
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"WHO\n")
            who = b""
            while b"connected:" not in who or not who.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                who += chunk
        if b"carol" not in who:
            print("room: WHO does not list the page's user:", who)
            return False
        subprocess.run([ftx, "chat", "--plain", f"127.0.0.1:{port}", "--name", "dave"],
                       input=b"hello page\n", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30, check=True)
        WebDriverWait(d, 20).until(
            lambda drv: "<dave> hello page" in drv.find_element(By.ID, "messages").text)
        print("room: page -> ftx chat, WHO, ftx chat -> page: ok")
        return True
    finally:
        bob.terminate()
        try:
            bob.wait(timeout=10)
        except subprocess.TimeoutExpired:
            bob.kill()
            bob.wait()
        out.close()


def check_shelf(d, port, files):
    """With --share the page lists the shelf: each file a download link that gives its bytes,
    each directory a step into it."""
    def link(text):
        for a in d.find_elements(By.CSS_SELECTOR, "#shelf-list a"):
            if a.text == text:
                return a
        return None

    def fetch(href):
        with urllib.request.urlopen(href, timeout=20) as r:
            return r.read()

    # The page draws the list anew whenever the shelf changes, so a link found a moment ago
    # may be gone (stale) when it is used: each step finds and uses its link in one try, and
    # tries again until it works.
    def until(step):
        return WebDriverWait(d, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda drv: step())

    def href(text):
        a = link(text)
        return a.get_attribute("href") if a is not None else None

    def click(text):
        a = link(text)
        if a is None:
            return False
        a.click()
        return True

    try:
        until(lambda: d.find_element(By.ID, "shelf").is_displayed()
              and link("notes.txt") is not None and link("album/") is not None)
        top = fetch(until(lambda: href("notes.txt"))) == files["notes.txt"]
        until(lambda: click("album/"))
        inner = fetch(until(lambda: href("cover.bin"))) == files["album/cover.bin"]
        until(lambda: click("../"))
        until(lambda: link("notes.txt") is not None)
    except Exception as e:  # a timeout says what the page showed instead
        try:
            shown = d.find_element(By.ID, "shelf").text[:500]
        except Exception as again:  # the page redrawn once more, or gone
            shown = f"(not readable: {type(again).__name__})"
        print("shelf: failed:", type(e).__name__, shown)
        return False
    print(f"shelf: notes.txt {'same bytes' if top else 'DIFFERS'}, album/cover.bin "
          f"{'same bytes' if inner else 'DIFFERS'}")
    return top and inner


def main():
    ftx = sys.argv[1]
    screenshot = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else None
    with tempfile.TemporaryDirectory(prefix="ftx-browser-") as tmp:
        tmp = pathlib.Path(tmp)
        inbox = tmp / "inbox"
        src = tmp / "src"
        (src / "album" / "2024").mkdir(parents=True)
        files = {
            "notes.txt": b"meeting at ten\n" * 50,
            "photo.bin": os.urandom(3 * 1024 * 1024 + 17),
            "album/cover.bin": os.urandom(200_000),
            "album/2024/day one.txt": "caf\u00e9 \u00fcber alles\n".encode() * 10,
        }
        for name, data in files.items():
            (src / name).write_bytes(data)
        with open(tmp / "server.err", "w") as log:
            proc, port = start_server(ftx, inbox, log)
            d = None
            try:
                d = browser()
                d.get(f"http://127.0.0.1:{port}/")
                assert d.title == "ftx", d.title
                d.find_element(By.ID, "pick-files").send_keys(
                    str(src / "notes.txt") + "\n" + str(src / "photo.bin"))
                d.find_element(By.ID, "pick-folder").send_keys(str(src / "album"))
                wait = WebDriverWait(d, 60)
                wait.until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "li.file")) == len(files)
                           and all(li.get_attribute("data-state")
                                   for li in drv.find_elements(By.CSS_SELECTOR, "li.file")))
                results = {li.find_element(By.CLASS_NAME, "name").text:
                           (li.get_attribute("data-state"), li.find_element(By.CLASS_NAME, "status").text,
                            li.find_element(By.CLASS_NAME, "digest").text)
                           for li in d.find_elements(By.CSS_SELECTOR, "li.file")}
                failed = False
                for name, data in files.items():
                    state, status, digest = results.get(name, ("missing", "", ""))
                    saved = inbox / name
                    same = saved.is_file() and saved.read_bytes() == data
                    print(f"{name}: {state}: {status} {digest} {'(same bytes)' if same else '(DIFFERS)'}")
                    if state != "done" or not same or not digest.startswith("xxh128:") \
                            or ("saved as " + name) not in status:
                        failed = True
                if not check_shelf(d, port, files):
                    failed = True
                if not check_resume(d, port, src, inbox):
                    failed = True
                if not check_same_again(d, src, inbox):
                    failed = True
                if not check_room(d, ftx, port, tmp):
                    failed = True
                if screenshot:
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    d.save_screenshot(str(screenshot))
                    print("screenshot:", screenshot)
                return 1 if failed else 0
            finally:
                if d:
                    d.quit()
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    sys.exit(main())
