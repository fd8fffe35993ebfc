"""The interactive explorer (issue 15, items 1 and 2): its JSON API, its HTTP answers to bad
input, the ``kripke explore`` command, and the page driven in Debian's headless Chromium.

The API is tested without a browser: the state at a path (labels or successor indices), the
fields the last step changed, the steps on offer and what each would break, the properties,
the messages in flight, a counterexample followed through the model, a check run from the page,
and every kind of bad input answered with status 400 and one JSON line. The browser tests
(skipped, saying why, when chromium, chromedriver or selenium is missing; ``make test``
installs them) click two-phase-eager to its tc_consistent violation, step through raft-article's
two leaders loaded as a trace, reload a state from its URL, run a check from the page, and keep
screenshots under tests/artifacts/ (git-ignored) to look at.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from kripke.checkers.explicit import check
from kripke.cli import main
from kripke.models.system import load_model
from kripke.traces.explore import BadRequest, Explorer, make_server, path_text
from tests.conftest import ROOT

#: two-phase-eager's shortest tc_consistent violation, as `kripke check` finds it
EAGER = ["rm_prepare(rm=0)", "tm_rcv_prepared(rm=0)", "tm_commit()", "rm_choose_to_abort(rm=1)",
         "rm_rcv_commit_msg(rm=0)"]
ARTIFACTS = ROOT / "tests" / "artifacts"


def run_check(model, properties, max_states, time_limit):
    return check(model, properties=properties, max_states=max_states, time_limit=time_limit)


def explorer(name, **params):
    return Explorer(load_model(name)(**params), run_check)


@pytest.fixture(scope="module")
def eager():
    return explorer("two-phase-eager")


@pytest.fixture(scope="module")
def raft_trace(tmp_path_factory):
    """raft-article's election_safety counterexample (two leaders in term 2), as a file."""
    r = check(load_model("raft-article")(), properties=["election_safety"])
    assert r.verdict == "violated"
    path = tmp_path_factory.mktemp("raft") / "trace.json"
    r.violation.trace.save(path)
    return path


def field(view, name):
    return next(f for f in view["fields"] if f["name"] == name)


def prop(view, name):
    return next(p for p in view["properties"] if p["name"] == name)


# -- the API -----------------------------------------------------------------------------------
def test_the_state_at_a_path_with_the_fields_the_last_step_changed(eager):
    v = eager.view(path_text(EAGER[:1]))
    assert v["at"] == 1 and [p["label"] for p in v["path"]] == ["init", "rm_prepare(rm=0)"]
    rm_state = field(v, "rm_state")
    assert rm_state["value"] == ["prepared", "working", "working"]
    assert rm_state["before"] == ["working", "working", "working"]
    assert rm_state["type"] == "[RM -> {working, prepared, committed, aborted}]"
    assert (rm_state["kind"], rm_state["index"]) == ("array", "RM")
    assert [f["name"] for f in v["fields"] if f["changed"]] == ["rm_state", "msgs"]
    assert v["changes"] == ["rm_state[0]: working -> prepared", "msgs: +Prepared(rm=0)"]


def test_a_path_of_successor_indices_names_the_same_states(eager):
    by_label = eager.view(path_text(EAGER))
    indices, keys = [], []
    for label in EAGER:
        v = eager.view(path_text(keys))
        indices.append(str([a["label"] for a in v["actions"]].index(label)))
        keys.append(label)
    by_index = eager.view("/".join(indices))
    assert by_index["path"] == by_label["path"]  # indices are resolved to labels
    assert by_index["fields"] == by_label["fields"]


def test_at_shows_a_state_inside_the_path_and_the_step_forward(eager):
    v = eager.view(path_text(EAGER), at=2)
    assert v["at"] == 2 and len(v["path"]) == 6
    assert field(v, "tm_prepared")["value"] == [0]
    forward = [a["label"] for a in v["actions"] if a["forward"]]
    assert forward == ["tm_commit()"]


def test_each_step_on_offer_says_what_it_changes_and_breaks(eager):
    v = eager.view(path_text(EAGER[:4]))
    act = {a["label"]: a for a in v["actions"]}
    assert set(act) == {"rm_prepare(rm=2)", "rm_choose_to_abort(rm=2)", "rm_rcv_commit_msg(rm=0)",
                        "rm_rcv_commit_msg(rm=1)", "rm_rcv_commit_msg(rm=2)"}
    commit0 = act["rm_rcv_commit_msg(rm=0)"]
    assert commit0["changes"] == ["rm_state[0]: prepared -> committed"]
    assert commit0["fields"] == ["rm_state"]
    assert {b["property"] for b in commit0["breaks"]} >= {"tc_consistent", "atomic_commit"}
    assert act["rm_prepare(rm=2)"]["breaks"] == []
    assert "tm_commit" in v["disabled"]


def test_the_invariant_that_would_break_next(eager):
    v = eager.view(path_text(EAGER[:4]))
    assert prop(v, "tc_consistent")["status"] == "holds"
    nxt = {b["property"]: b["actions"] for b in v["next_breaking"]}
    assert nxt["tc_consistent"] == ["rm_rcv_commit_msg(rm=0)", "rm_rcv_commit_msg(rm=2)"]
    assert prop(v, "tc_consistent")["breaks_after"] == nxt["tc_consistent"]
    # one step earlier tc_consistent cannot break yet, but the refinement of TCommit can (an
    # RM commits while another is still working: make demo's second counterexample)
    earlier = {b["property"]: b["actions"] for b in eager.view(path_text(EAGER[:3]))[
        "next_breaking"]}
    assert earlier == {"refines_tcommit": ["rm_rcv_commit_msg(rm=0)", "rm_rcv_commit_msg(rm=1)",
                                           "rm_rcv_commit_msg(rm=2)"]}
    assert eager.view(path_text(EAGER[:2]))["next_breaking"] == []


def test_the_properties_evaluated_on_the_state(eager):
    v = eager.view(path_text(EAGER))
    assert prop(v, "tc_consistent")["status"] == "violated"
    assert prop(v, "type_ok")["status"] == "holds"
    assert prop(v, "refines_tcommit")["status"] == "violated"  # the last step: no TCommit step
    assert prop(v, "commit_possible")["status"] == "no"
    assert prop(v, "rm_learns_outcome")["status"] == "na"  # over behaviours, not one state
    assert "P=" in prop(v, "rm_learns_outcome")["text"]
    # an invariant already violated is not reported as breaking next
    assert "tc_consistent" not in {b["property"] for b in v["next_breaking"]}
    assert eager.view("")["properties"][0]["name"] == "type_ok"


@pytest.mark.parametrize("path, why", [
    ("rm_prepare(rm=0)//tm_commit()", "malformed path"),
    ("rm_prepare(rm=0)/", "malformed path"),
    ("no_such_action(x=1)", "the model has no action 'no_such_action'"),
    ("tm_commit()", "tm_commit() is not enabled in the state of step 0"),
    ("rm_prepare(rm=7)", "calls of rm_prepare on offer: rm_prepare(rm=0)"),
    ("garbage", "the model has no action 'garbage'"),
    ("tm_abort", "tm_abort is not enabled in the state of step 0 (calls of tm_abort on offer: "
                 "tm_abort())"),
    ("42", "successor 42 does not exist"),
    ("init~3", "the model has 1 initial state"),
])
def test_a_bad_path_is_a_bad_request_naming_the_step(eager, path, why):
    with pytest.raises(BadRequest, match="step|path") as e:
        eager.view(path)
    assert why in str(e.value)


def test_a_trace_is_followed_through_the_model(raft_trace):
    from kripke.traces.trace import load
    ex = explorer("raft-article")
    info = ex.load_trace(load(raft_trace), "t")
    assert (info["id"], info["steps"], info["property"]) == (0, 10, "election_safety")
    assert info["headline"] == "election_safety violated (invariant) after 10 steps"
    v = ex.view(info["path"])
    assert prop(v, "election_safety")["status"] == "violated"
    assert field(v, "state")["value"] == ["leader", "leader", "follower"]
    assert v["chart"].startswith("<svg") and "server 0" in v["chart"]
    # another model's parameters: the trace's steps are not the model's
    other = explorer("raft-article", servers=2)
    with pytest.raises(BadRequest, match="step 0"):
        other.load_trace(load(raft_trace), "t")


def test_messages_in_flight_with_what_can_happen_to_each():
    ex = explorer("raft-article", lossy=True)
    v = ex.view(path_text(["timeout(i=0)", "request_vote(i=0, j=1)"]))
    [m] = v["messages"]
    assert (m["type"], m["src"], m["dst"], m["status"]) == ("RequestVoteRequest", 0, 1,
                                                           "deliverable")
    assert {s["action"] for s in m["steps"]} == {"update_term", "handle_request_vote_request",
                                                  "drop_message"}
    assert ex.view("")["messages"] == []
    assert explorer("two-phase").view("")["messages"] is None  # not message passing
    assert explorer("two-phase").view("")["chart"] is None


def test_a_check_run_from_the_page_loads_its_violation(eager):
    ex = explorer("two-phase-eager")
    out = ex.check("tc_consistent", 10_000)
    assert out["verdict"] == "violated" and out["properties"] == ["tc_consistent"]
    trace = out["violation"]["trace"]
    assert trace["path"] == path_text(EAGER) and trace["source"] == "check"
    ok = explorer("two-phase").check(None, 10_000)
    assert (ok["verdict"], ok["violation"]) == ("ok", None)
    assert ex.check("tc_consistent", 3)["verdict"] == "incomplete"
    with pytest.raises(BadRequest, match="unknown property 'nope'"):
        ex.check("nope", 10)
    with pytest.raises(BadRequest, match="max_states"):
        ex.check(None, 0)


# -- HTTP --------------------------------------------------------------------------------------
@pytest.fixture
def served():
    """Start a server for an explorer on a free port, in a thread; stop it afterwards."""
    servers = []

    def start(ex):
        srv = make_server(ex, 0)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(srv)
        return srv.url
    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def fetch(url, data=None, headers=None, method=None):
    """``(status, content type, body)``, whatever the status."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def test_bad_input_is_answered_in_json_never_a_traceback(served, eager):
    url = served(eager)
    cases = [
        (url + "api/state?path=" + "rm_prepare(rm%3D0)%2F%2Fx", 400, "malformed path"),
        (url + "api/state?path=bogus()", 400, "no action 'bogus'"),
        (url + "api/state?path=rm_prepare(rm%3D9)", 400, "not enabled"),
        (url + "api/state?path=&at=x", 400, "expected a step number"),
        (url + "api/state?path=rm_prepare(rm%3D0)&at=5", 400, "the path has 1 step"),
        (url + "api/state?path=%ff%fe", 400, "malformed query"),
        (url + "api/trace?id=3", 400, "no counterexample '3'"),
        (url + "nowhere", 404, "no page '/nowhere'"),
    ]
    for target, status, why in cases:
        code, ctype, body = fetch(target)
        assert (code, ctype.split(";")[0]) == (status, "application/json"), target
        assert why in json.loads(body)["error"], (target, body)
        assert "Traceback" not in body
    code, _, body = fetch(url + "api/check", data=b"{not json",
                          headers={"Content-Type": "application/json"})
    assert code == 400 and "not JSON" in json.loads(body)["error"]
    code, _, body = fetch(url + "api/check", data=b'{"property": "x"}',
                          headers={"Content-Type": "text/plain"})
    assert code == 400 and "application/json" in json.loads(body)["error"]
    code, _, body = fetch(url + "api/check", data=b'{"property": 3}',
                          headers={"Content-Type": "application/json"})
    assert code == 400 and "property" in json.loads(body)["error"]
    code, _, body = fetch(url, method="DELETE")
    assert code == 501 and json.loads(body)["error"]
    code, _, body = fetch(url + "api/model", headers={"Host": "attacker.example:80"})
    assert code == 403  # DNS rebinding: only 127.0.0.1 and localhost are answered


def test_the_page_and_the_api_over_http(served, eager):
    url = served(eager)
    code, ctype, page = fetch(url)
    assert code == 200 and ctype.startswith("text/html")
    # offline: nothing is loaded from elsewhere (no CDN, no web font)
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert '"model": "two-phase-eager"' in page
    code, _, body = fetch(url + "api/state?path=" + urllib.request.quote(path_text(EAGER)))
    assert code == 200 and prop(json.loads(body), "tc_consistent")["status"] == "violated"
    code, _, body = fetch(url + "api/check", data=b'{"property": "tc_consistent"}',
                          headers={"Content-Type": "application/json"})
    assert code == 200 and json.loads(body)["violation"]["trace"]["steps"] == 5
    code, _, body = fetch(url + "api/trace?id=0")
    assert code == 200 and json.loads(body)["property"] == "tc_consistent"


# -- the command -------------------------------------------------------------------------------
def test_explore_refuses_bad_input_in_one_line(raft_trace):
    runner = CliRunner()
    r = runner.invoke(main, ["explore", "--no-browser"])
    assert r.exit_code == 2 and "explore needs a MODEL" in r.output
    r = runner.invoke(main, ["explore", "two-phase", "--trace", str(raft_trace), "--no-browser"])
    assert r.exit_code == 2 and "a trace of raft-article, not two-phase" in r.output
    r = runner.invoke(main, ["explore", "--trace", str(raft_trace), "-p", "servers=2",
                             "--no-browser"])
    assert r.exit_code == 2 and "-p servers: the trace was recorded with servers=3" in r.output
    r = runner.invoke(main, ["explore", "no-such-model", "--no-browser"])
    assert r.exit_code == 2 and "no-such-model" in r.output


def test_explore_on_port_0_prints_its_url_and_serves(raft_trace):
    proc = subprocess.Popen([sys.executable, "-m", "kripke.cli", "explore", "--trace",
                             str(raft_trace), "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline()
        assert line.startswith("kripke explore: raft-article at http://127.0.0.1:"), (
            line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split(" at ")[1].split()[0]
        assert "#path=timeout(i=0)/" in url and url.endswith("&at=0&trace=0")
        code, _, body = fetch(url.split("#")[0] + "api/model")
        assert code == 200 and json.loads(body)["traces"][0]["steps"] == 10
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- in a real browser -------------------------------------------------------------------------
def _browser_missing():
    """Why the browser tests cannot run here, or None."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return "no Chromium: install Debian's chromium and chromium-driver (make test does)"
    if shutil.which("chromedriver") is None:
        return "no chromedriver: install Debian's chromium-driver (make test does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "no selenium: pip install -e '.[dev]' (make test does)"
    return None


@pytest.fixture(scope="module")
def browser():
    why = _browser_missing()
    if why:
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def wait(driver, condition, what, timeout=10):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException)).until(
            lambda d: condition(d), message=what)


def at(driver):
    """The step the page shows (0: the initial state), once it has shown one."""
    found = driver.execute_script("const e = document.getElementById('at');"
                                  "return e ? e.dataset.at : null;")
    return None if found is None else int(found)


def click_step(driver, key, expect_at):
    from selenium.webdriver.common.by import By
    button = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR,
                                                   f'button.act[data-key="{key}"]'), key)
    button.click()
    wait(driver, lambda d: at(d) == expect_at, f"the page to show step {expect_at} after {key}")


def screenshot(driver, name):
    """A screenshot of the whole page (beyond the window, by the DevTools protocol), kept in
    tests/artifacts/ to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000),
                 "scale": 1}})
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 10_000
    return path


def test_two_phase_eager_clicked_to_its_tc_consistent_violation(browser, served):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    url = served(explorer("two-phase-eager"))
    browser.get(url)
    wait(browser, lambda d: at(d) == 0, "the initial state")
    rows = browser.find_elements(By.CSS_SELECTOR, "#state tr[data-field]")
    assert [r.get_attribute("data-field") for r in rows] == ["rm_state", "tm_state",
                                                             "tm_prepared", "msgs"]
    for n, key in enumerate(EAGER[:4], start=1):
        click_step(browser, key, n)
    # one step from the violation: the page warns, and hovering the step says what it breaks
    assert "tc_consistent" in browser.find_element(By.ID, "alerts").text
    fatal = browser.find_element(By.CSS_SELECTOR, f'button.act[data-key="{EAGER[4]}"]')
    assert "breaks" in fatal.get_attribute("class")
    ActionChains(browser).move_to_element(fatal).perform()
    preview = browser.find_element(By.ID, "preview")
    wait(browser, lambda d: preview.is_displayed(), "the hover preview")
    assert "rm_state[0]: prepared -> committed" in preview.text
    assert "breaks tc_consistent" in preview.text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "explore-hover.png"))  # the window, preview shown
    click_step(browser, EAGER[4], 5)
    alerts = browser.find_element(By.ID, "alerts").text
    assert "tc_consistent is violated in this state" in alerts
    changed = browser.find_element(By.CSS_SELECTOR, '#state tr[data-field="rm_state"]')
    assert "changed" in changed.get_attribute("class") and "was prepared" in changed.text
    badge = browser.find_element(By.CSS_SELECTOR, '#props tr[data-property="tc_consistent"]')
    assert "violated" in badge.text
    assert browser.current_url.endswith("#path=" + path_text(EAGER))
    screenshot(browser, "explore-two-phase-eager")
    # back, forward and jump, by the buttons, the keyboard and the path
    browser.find_element(By.ID, "back").click()
    wait(browser, lambda d: at(d) == 4, "back to step 4")
    assert "&at=4" in browser.current_url
    browser.find_element(By.TAG_NAME, "body").send_keys("\ue012")  # ArrowLeft
    wait(browser, lambda d: at(d) == 3, "back to step 3 by the keyboard")
    browser.find_element(By.CSS_SELECTOR, '#path li[data-step="1"]').click()
    wait(browser, lambda d: at(d) == 1, "a jump to step 1")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#path li.future")) == 4
    browser.find_element(By.ID, "forward").click()
    wait(browser, lambda d: at(d) == 2, "forward to step 2")


def test_a_raft_article_trace_stepped_through(browser, served, raft_trace):
    from selenium.webdriver.common.by import By
    from kripke.traces.trace import load
    ex = explorer("raft-article")
    ex.load_trace(load(raft_trace), str(raft_trace))
    browser.get(served(ex))  # no fragment: the page opens the loaded trace at its start
    counter = browser.find_element(By.ID, "step-counter")
    wait(browser, lambda d: counter.text == "step 0 of 10", "the trace's first step")
    assert "election_safety violated (invariant) after 10 steps" in \
        browser.find_element(By.ID, "tracebar").text
    for n in range(1, 8):
        browser.find_element(By.ID, "trace-next").click()
        wait(browser, lambda d: counter.text == f"step {n} of 10", f"step {n}")
    row = browser.find_element(By.CSS_SELECTOR, '#state tr[data-field="state"]')
    assert "leader" in row.text and "was candidate" in row.text  # become_leader(i=0)
    messages = browser.find_element(By.ID, "messages")
    assert "RequestVoteRequest(term=2" in messages.text and "1 → 0" in messages.text
    chart = browser.find_element(By.CSS_SELECTOR, "#chart svg")
    assert "become_leader" in chart.get_attribute("innerHTML")
    browser.find_element(By.ID, "trace-last").click()
    wait(browser, lambda d: counter.text == "step 10 of 10", "the last step")
    assert "election_safety is violated" in browser.find_element(By.ID, "alerts").text
    screenshot(browser, "explore-raft-article")
    # the URL names the state: a reload (and a fresh page at that URL) shows the same
    browser.find_element(By.ID, "trace-prev").click()
    wait(browser, lambda d: counter.text == "step 9 of 10", "step 9")
    url = browser.current_url
    state = browser.find_element(By.ID, "state").text
    browser.refresh()
    wait(browser, lambda d: at(d) == 9, "step 9 after a reload")
    assert browser.find_element(By.ID, "state").text == state
    assert browser.find_element(By.ID, "step-counter").text == "step 9 of 10"
    browser.get("about:blank")
    browser.get(url)
    wait(browser, lambda d: at(d) == 9, "step 9 from the URL")
    assert browser.find_element(By.ID, "state").text == state


def test_a_check_run_from_the_page_is_stepped_through(browser, served):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    browser.get(served(explorer("two-phase-eager")))
    wait(browser, lambda d: at(d) == 0, "the initial state")
    Select(browser.find_element(By.ID, "check-prop")).select_by_value("tc_consistent")
    browser.find_element(By.ID, "check-run").click()
    opener = wait(browser, lambda d: d.find_element(By.ID, "check-open"), "the check's verdict")
    assert "tc_consistent violated" in browser.find_element(By.ID, "check-verdict").text
    opener.click()
    counter = browser.find_element(By.ID, "step-counter")
    wait(browser, lambda d: counter.text == "step 0 of 5", "the counterexample's start")
    browser.find_element(By.ID, "trace-last").click()
    wait(browser, lambda d: at(d) == 5, "the violating step")
    assert "tc_consistent is violated" in browser.find_element(By.ID, "alerts").text
    # a step off the counterexample leaves it: the bar goes, the path is the user's
    browser.find_element(By.ID, "back").click()
    wait(browser, lambda d: at(d) == 4, "step 4")
    click_step(browser, "rm_prepare(rm=2)", 5)
    assert not browser.find_element(By.ID, "tracebar").is_displayed()


def test_a_bad_url_shows_the_servers_error(browser, served):
    from selenium.webdriver.common.by import By
    browser.get(served(explorer("two-phase")) + "#path=rm_prepare(rm=0)/nope()")
    error = browser.find_element(By.ID, "error")
    wait(browser, lambda d: error.is_displayed(), "the error")
    assert "step 2: 'nope()': the model has no action 'nope'" in error.text
