//! `docs --format html`: the static site, checked as a page and in a real
//! browser. Headless Chromium, driven through chromedriver's W3C WebDriver
//! HTTP API on loopback by the small client below (a handful of JSON
//! requests: no WebDriver crate and its async runtime needed), opens the
//! index, types into the search box and ticks a flag filter, and the
//! expected kfuncs stay while the others hide. Skipped loudly (failed under
//! KFUNC_SCAN_REQUIRE_DATA=1) without chromium and chromedriver.

use crate::common;
use crate::manifest_fixture;
use common::*;
use kfunc_scan::manifest::Manifest;
use manifest_fixture::*;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn manifest() -> Manifest {
    let mut a = kfunc("bpf_task_acquire");
    a.doc = Some("/**\n * bpf_task_acquire - Acquire a reference to a task. More.\n */".into());
    let mut m = Fx::new()
        .set(
            "generic_btf_ids",
            &["BPF_PROG_TYPE_TRACING"],
            &[
                ("bpf_task_acquire", &["KF_ACQUIRE", "KF_RCU", "KF_RET_NULL"]),
                ("bpf_task_release", &["KF_RELEASE"]),
                (
                    "bpf_cgroup_acquire",
                    &["KF_ACQUIRE", "KF_RCU", "KF_RET_NULL"],
                ),
            ],
        )
        .set(
            "xdp_ids",
            &["BPF_PROG_TYPE_XDP"],
            &[("bpf_xdp_ct_lookup", &["KF_RET_NULL"])],
        )
        .set(
            "sleepy_ids",
            &["BPF_PROG_TYPE_TRACING"],
            &[("bpf_get_file_xattr", &["KF_SLEEPABLE"])],
        )
        .def(a)
        .def(kfunc("bpf_task_release"))
        .def(kfunc("bpf_cgroup_acquire"))
        .def(kfunc("bpf_xdp_ct_lookup"))
        .def(kfunc("bpf_get_file_xattr"))
        .build();
    m.sets[2].registrations[0].filter = Some("bpf_fs_kfuncs_filter".into());
    m
}

fn site(dir: &Path) -> PathBuf {
    let mp = dir.join("m.json");
    std::fs::write(&mp, manifest().to_json()).unwrap();
    let out = dir.join("site");
    std::fs::create_dir(&out).unwrap();
    cmd([
        "docs",
        "--format",
        "html",
        "--source-url",
        "https://example.org/linux/",
        "--manifest",
    ])
    .arg(&mp)
    .arg("-o")
    .arg(&out)
    .expect(0);
    out
}

#[test]
fn pages_have_what_a_programmer_needs() {
    let dir = tempfile::tempdir().unwrap();
    let out = site(dir.path());
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("<input id=\"q\" type=\"search\""));
    for id in ["f-prog", "f-set", "f-module"] {
        assert!(index.contains(&format!("<select id=\"{id}\">")), "{id}");
    }
    assert!(index.contains("class=\"f-flag\" value=\"KF_SLEEPABLE\""));
    // no external assets: nothing fetched from elsewhere
    for bad in ["src=\"http", "href=\"http", "<link ", "src=\"//"] {
        assert!(!index.contains(bad), "{bad}");
    }
    let k = std::fs::read_to_string(out.join("kfuncs/bpf_task_acquire.html")).unwrap();
    assert!(
        k.contains("struct") || k.contains("int bpf_task_acquire(void);"),
        "{k}"
    );
    assert!(k.contains("<code>KF_ACQUIRE</code>: Acquires a reference"));
    assert!(k.contains("Acquire a reference to a task. More."));
    assert!(k.contains("href=\"https://example.org/linux/kernel/bpf/helpers.c#L10\""));
    assert!(k.contains("../program-types/BPF_PROG_TYPE_LSM.html"));
    let f = std::fs::read_to_string(out.join("kfuncs/bpf_get_file_xattr.html")).unwrap();
    assert!(
        f.contains("restricted by <code>bpf_fs_kfuncs_filter</code>"),
        "{f}"
    );
    let lsm = std::fs::read_to_string(out.join("program-types/BPF_PROG_TYPE_LSM.html")).unwrap();
    assert!(
        lsm.contains(
            "<code>SEC(\"lsm.s+\")</code>, attach type <code>BPF_LSM_MAC</code>, sleepable"
        ),
        "{lsm}"
    );
    assert!(out.join("sets/generic_btf_ids.html").is_file());
}

/// The pages in detail, in-process: what each shows, worked out from the
/// fixture (helpers.c's sets at lines 100, 200, 300, registered 60 lines
/// below; the kfuncs at line 10).
#[test]
fn pages_show_their_parts() {
    let mut m = manifest();
    let k = m
        .kfuncs
        .iter_mut()
        .find(|k| k.name == "bpf_task_release")
        .unwrap();
    k.params = vec![param("struct task_struct *", "p"), param("u32", "len__sz")];
    k.doc = Some("/**\n * bpf_task_release - Release a task. Gone.\n * @p: The task\n */".into());
    let k = m
        .kfuncs
        .iter_mut()
        .find(|k| k.name == "bpf_xdp_ct_lookup")
        .unwrap();
    k.object = kfunc_scan::manifest::BuiltInto::Object("nf_conntrack".into());
    // a set for every program type, and an entry the tree does not define
    m.sets[1].registrations[0].prog_type = "BPF_PROG_TYPE_UNSPEC".into();
    m.sets[0].entries[1].condition = Some("defined(CONFIG_X)".into());
    let mut gone = m.sets[0].entries[0].clone();
    gone.name = "bpf_undefined".into();
    m.sets[0].entries.push(gone);
    let opts = kfunc_scan::docs::DocsOptions::default();
    let pages = kfunc_scan::docs::html(&m, &opts);
    for (name, page) in &pages {
        let up = if name.contains('/') { "../" } else { "" };
        let head = format!(
            "{}\n<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            kfunc_scan::docs::MARKER
        );
        assert!(page.starts_with(&head), "{name}");
        assert!(page.contains("<title>"), "{name}");
        // the bar: the three ways in, and the version
        let bar = format!(
            "<nav><a href=\"{up}index.html\">All kfuncs</a><a href=\"{up}program-types/index.html\">Program types</a><a href=\"{up}sets/index.html\">Sets</a><span class=\"v\">Linux {}</span></nav>",
            m.kernel_version.as_deref().unwrap_or("(unknown version)")
        );
        assert!(page.contains(&bar), "{name}:\n{page}");
        // no tool talk in published pages
        assert!(
            !page.contains("docs --history") && !page.contains("kfunc-scan diff"),
            "{name}"
        );
        assert!(page.ends_with("</body></html>\n"), "{name}");
    }
    // each page holds these parts
    let has = |name: &str, parts: &[&str]| {
        let page = &pages[name];
        for part in parts {
            assert!(page.contains(part), "{name} lacks {part}:\n{page}");
        }
    };
    // module: the object with a build view, else the source's directory
    has(
        "index.html",
        &[
            "<label>module <select id=\"f-module\"><option value=\"\">any</option><option>kernel/bpf</option><option>nf_conntrack</option></select>",
            "data-module=\" nf_conntrack \"",
            "data-name=\"bpf_task_acquire\"",
            "<td><span class=\"flag\">KF_ACQUIRE</span><span class=\"flag\">KF_RCU</span><span class=\"flag\">KF_RET_NULL</span></td></tr>",
        ],
    );
    has(
        "kfuncs/bpf_task_release.html",
        &[
            "<h1><code>bpf_task_release</code></h1>\n<p>Release a task. Gone.</p>\n",
            "<tr><td><code>p</code></td><td><code>struct task_struct *</code></td><td>The task</td><td></td></tr>",
            "<tr><td><code>len__sz</code></td><td><code>u32</code></td><td></td><td>__sz: the size in bytes of the memory the previous argument points to</td></tr>",
            "<li><code>BPF_PROG_TYPE_TRACING</code> through set <a href=\"../sets/generic_btf_ids.html\">generic_btf_ids</a></li>",
        ],
    );
    // no description: no empty paragraph under the title; no parameters
    has(
        "kfuncs/bpf_cgroup_acquire.html",
        &["<h1><code>bpf_cgroup_acquire</code></h1>\n<pre>"],
    );
    assert!(!pages["kfuncs/bpf_cgroup_acquire.html"].contains("<h2>Parameters</h2>"));
    has(
        "kfuncs/bpf_xdp_ct_lookup.html",
        &["<li>every program type (the common hook) through set <a href=\"../sets/xdp_ids.html\">xdp_ids</a></li>"],
    );
    has(
        "sets/generic_btf_ids.html",
        &[
            "<h1>Set <code>generic_btf_ids</code></h1>\n<p>Declared at <code>kernel/bpf/helpers.c:100</code>.</p>",
            "<li><code>BPF_PROG_TYPE_TRACING</code> at <code>kernel/bpf/helpers.c:160</code></li>",
            "<tr><td><a href=\"../kfuncs/bpf_task_release.html\"><code>bpf_task_release</code></a></td><td><span class=\"flag\">KF_RELEASE</span></td><td><code>defined(CONFIG_X)</code></td></tr>",
            "<tr><td><code>bpf_undefined</code> (definition not found)</td>",
        ],
    );
    // the two indexes: 3 sets; TRACING's 4 kfuncs (3 + the sleepable one)
    // and XDP's 1 + the common set's 1 ... as the fixture registers them
    has(
        "sets/index.html",
        &[
            "<h1>Kfunc sets</h1>",
            "<tr><td><a href=\"generic_btf_ids.html\"><code>generic_btf_ids</code></a></td><td><code>kernel/bpf/helpers.c:100</code></td><td>4</td><td><code>BPF_PROG_TYPE_TRACING</code></td></tr>",
            "<tr><td><a href=\"xdp_ids.html\"><code>xdp_ids</code></a></td><td><code>kernel/bpf/helpers.c:200</code></td><td>1</td><td><code>BPF_PROG_TYPE_UNSPEC</code></td></tr>",
        ],
    );
    has(
        "program-types/index.html",
        &["<tr><td><a href=\"BPF_PROG_TYPE_TRACING.html\">BPF_PROG_TYPE_TRACING</a></td>"],
    );
    // a sleepable kfunc where only the type's sleepable sections may call
    // it (a type that never sleeps: src/docs/html.rs's unit tests)
    has(
        "program-types/BPF_PROG_TYPE_TRACING.html",
        &["<code>bpf_get_file_xattr</code></a> (if filter <code>bpf_fs_kfuncs_filter</code> allows it: it could not be read) <span class=\"caveat\">(from sleepable programs only)</span></td>"],
    );
    has(
        "sets/sleepy_ids.html",
        &["<li><code>BPF_PROG_TYPE_TRACING</code> at <code>kernel/bpf/helpers.c:360</code>, restricted by <code>bpf_fs_kfuncs_filter</code>, which could not be read</li>"],
    );
}

/// A minimal W3C WebDriver client: JSON over HTTP/1.1, one connection a request.
struct Driver {
    port: u16,
    child: Child,
    session: String,
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // read the head, then exactly Content-Length bytes: chromedriver keeps
    // the connection open whatever the request asks
    let mut raw: Vec<u8> = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            break;
        }
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    let json = String::from_utf8_lossy(&body);
    Ok(serde_json::from_str(&json).unwrap_or(Value::Null))
}

impl Driver {
    fn start(profile: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http(port, "GET", "/status", None).map_or(true, |v| v["value"]["ready"] != true) {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium().unwrap(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let mut d = Driver {
            port,
            child,
            session: String::new(),
        };
        let v = d.call("POST", "/session", Some(&caps));
        d.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_string();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let v = http(self.port, method, path, body).unwrap();
        assert!(v["value"].get("error").is_none(), "{method} {path}: {v}");
        v["value"].clone()
    }

    fn post(&self, what: &str, body: Value) -> Value {
        self.call(
            "POST",
            &format!("/session/{}/{what}", self.session),
            Some(&body),
        )
    }

    fn element(&self, css: &str) -> String {
        let v = self.post("element", json!({"using": "css selector", "value": css}));
        // the W3C web element identifier
        v["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_string()
    }

    fn visible(&self) -> Vec<String> {
        let v = self.post(
            "execute/sync",
            json!({"script": "return Array.prototype.slice.call(document.querySelectorAll('tr.k')).filter(function(r){return !r.hidden}).map(function(r){return r.dataset.name})", "args": []}),
        );
        let mut names: Vec<String> = serde_json::from_value(v).unwrap();
        names.sort();
        names
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(on_path)
        .map(|p| p.display().to_string())
}

#[test]
fn search_and_filters_in_a_real_browser() {
    if chromium().is_none() || on_path("chromedriver").is_none() {
        missing("chromium and chromedriver (Debian: apt-get install chromium chromium-driver)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = site(dir.path());
    let d = Driver::start(&dir.path().join("profile"));
    let url = format!("file://{}", out.join("index.html").display());
    d.post("url", json!({"url": url}));
    assert_eq!(d.visible().len(), 5);
    let q = d.element("#q");
    d.post(&format!("element/{q}/value"), json!({"text": "acquire"}));
    assert_eq!(d.visible(), ["bpf_cgroup_acquire", "bpf_task_acquire"]);
    // the summary is searched too
    d.post(&format!("element/{q}/clear"), json!({}));
    d.post(
        &format!("element/{q}/value"),
        json!({"text": "reference to a task"}),
    );
    assert_eq!(d.visible(), ["bpf_task_acquire"]);
    d.post(&format!("element/{q}/clear"), json!({}));
    assert_eq!(d.visible().len(), 5);
    // a flag filter: KF_RET_NULL
    let ret_null = d.element("input.f-flag[value=KF_RET_NULL]");
    d.post(&format!("element/{ret_null}/click"), json!({}));
    assert_eq!(
        d.visible(),
        [
            "bpf_cgroup_acquire",
            "bpf_task_acquire",
            "bpf_xdp_ct_lookup"
        ]
    );
    // and a program type: XDP
    d.post(
        "execute/sync",
        json!({"script": "var s=document.getElementById('f-prog');s.value='BPF_PROG_TYPE_XDP';s.dispatchEvent(new Event('change'));", "args": []}),
    );
    assert_eq!(d.visible(), ["bpf_xdp_ct_lookup"]);

    // the view is in the URL: reloaded from it, the same rows and controls
    let js = |script: &str| d.post("execute/sync", json!({"script": script, "args": []}));
    let shared = js("return location.href").as_str().unwrap().to_string();
    assert!(
        shared.ends_with("index.html#prog=BPF_PROG_TYPE_XDP&flags=KF_RET_NULL"),
        "{shared}"
    );
    d.post("url", json!({"url": "about:blank"}));
    d.post("url", json!({"url": shared}));
    assert_eq!(d.visible(), ["bpf_xdp_ct_lookup"]);
    assert_eq!(
        js("return [document.getElementById('f-prog').value, document.querySelector('input.f-flag[value=KF_RET_NULL]').checked]"),
        json!(["BPF_PROG_TYPE_XDP", true])
    );
    // a view with a search term, typed into the address bar
    d.post("url", json!({"url": format!("{url}#q=cgroup")}));
    assert_eq!(d.visible(), ["bpf_cgroup_acquire"]);

    // the bar leads everywhere and back: index → program types → TRACING →
    // a kfunc → its set → all kfuncs
    let click = |css: &str| {
        let e = d.element(css);
        d.post(&format!("element/{e}/click"), json!({}));
    };
    let h1 = || js("return document.querySelector('h1').textContent");
    click("nav a[href='program-types/index.html']");
    assert_eq!(h1(), json!("Kfuncs by program type"));
    click("a[href='BPF_PROG_TYPE_TRACING.html']");
    assert_eq!(h1(), json!("BPF_PROG_TYPE_TRACING"));
    click("a[href='../kfuncs/bpf_task_acquire.html']");
    assert_eq!(h1(), json!("bpf_task_acquire"));
    click("a[href='../sets/generic_btf_ids.html']");
    assert_eq!(h1(), json!("Set generic_btf_ids"));
    click("nav a[href='../sets/index.html']");
    assert_eq!(h1(), json!("Kfunc sets"));
    click("nav a[href='../index.html']");
    assert_eq!(d.visible().len(), 5);
}
