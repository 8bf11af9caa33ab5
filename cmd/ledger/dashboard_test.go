package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
)

// chromiumPath is Debian's chromium package (installed by .ci/run).
const chromiumPath = "/usr/bin/chromium"

// Limits of the browser test.
const (
	browserTimeout = 3 * time.Minute  // the whole browser session
	liveTimeout    = 10 * time.Second // a posted placement shows on the page
)

// historyRows is how many of an account's latest movements the page shows (HISTORY_ROWS in app.js).
const historyRows = 500

// Screen sizes the dashboard must work at.
var screens = []struct {
	name          string
	width, height int64
}{
	{"1366x768", 1366, 768},
	{"1920x1080", 1920, 1080},
}

// startDemoServer is a real `ledger serve --demo` on port 0.
func startDemoServer(t *testing.T) *testServer {
	t.Helper()
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte(testTokens), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	m, err := Open(context.Background(), Config{DataDir: data, Listen: "127.0.0.1:0", TokensFile: tokens, Demo: true})
	if err != nil {
		t.Fatalf("open with the demo: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{t: t, m: m, cancel: cancel, done: make(chan error, 1), data: data}
	go func() { s.done <- m.Run(ctx) }()
	t.Cleanup(s.stop)
	return s
}

// screenshotDir is $LEDGER_SCREENSHOTS when set (kept after the test), else a temporary folder.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("LEDGER_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserProblems collects what a page must never do: log an error, throw,
// or make a request that fails.
type browserProblems struct {
	mu   sync.Mutex
	list []string
}

func (p *browserProblems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *browserProblems) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

func (p *browserProblems) listen(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range e.Args {
				args = append(args, fmt.Sprint(a.Value)+a.Description)
			}
			p.add("console.%s: %s", e.Type, strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		p.add("exception: %s at %s:%d", e.ExceptionDetails.Text, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber)
	case *cdplog.EventEntryAdded:
		if e.Entry.Level == cdplog.EntryLevelError {
			p.add("log %s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL)
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			p.add("request %s answered %d", e.Response.URL, e.Response.Status)
		}
	case *network.EventLoadingFailed:
		// A live stream is cancelled when the page goes away; that is not a failure.
		if !e.Canceled && e.ErrorText != "net::ERR_ABORTED" {
			p.add("request %s failed: %s", e.RequestID, e.ErrorText)
		}
	}
}

func newBrowser(t *testing.T) (context.Context, *browserProblems) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI: .ci/run installs the chromium package", chromiumPath)
		}
		t.Skipf("%s is missing: install Debian's chromium package (apt-get install -y chromium) to run the browser test", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("lang", "zh-CN"),
		chromedp.WindowSize(int(screens[0].width), int(screens[0].height)),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	problems := &browserProblems{}
	// Listen starts the browser and its tab, which enables the runtime,
	// log and network events it reports.
	if err := chromedp.Listen(browserCtx, problems.listen); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(browserCtx, browserTimeout)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx, problems
}

// card is what the page shows for one indicator.
type card struct {
	Indicator string `json:"indicator"`
	Issuer    string `json:"issuer"`
	Actual    string `json:"actual"`
	Target    string `json:"target"`
	Percent   string `json:"percent"`
	Text      string `json:"text"`
}

const readCards = `[...document.querySelectorAll('#indicators .indicator')].map(c => ({
  indicator: c.dataset.indicator, issuer: c.dataset.issuer,
  actual: c.querySelector('[data-actual]').dataset.actual,
  target: c.querySelector('[data-target]').dataset.target,
  percent: c.querySelector('[data-percent]').dataset.percent,
  text: c.querySelector('[data-actual]').textContent}))`

func TestDashboardInBrowser(t *testing.T) {
	// The server starts first so that it stops last: the browser's live
	// stream is closed before the server shuts down.
	s := startDemoServer(t)
	ctx, problems := newBrowser(t)
	b := &browser{t: t, ctx: ctx, shots: screenshotDir(t)}
	t.Logf("screenshots in %s", b.shots)

	t.Run("a viewer signs in and sees no history", func(t *testing.T) {
		b.signIn(s, viewer)
		if !eval[bool](b, `document.querySelector('#nav [data-page=history]').hidden`) {
			t.Errorf("the history page is offered to a viewer")
		}
		stored := eval[string](b, `(sessionStorage.getItem('ledger.token') || '') + '|' + (localStorage.getItem('ledger.token') || '')`)
		if stored != viewer+"|" {
			t.Errorf("token storage: got %q, want it in sessionStorage only", stored)
		}
		b.shoot("00-signed-in-viewer")
		b.do("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("token")))
	})

	b.signIn(s, officer)
	year := b.openAnkang()
	want := s.must(200, "GET", "/v1/progress?region=610900&year="+year, viewer, nil)

	t.Run("the progress page shows the figures of /v1/progress", func(t *testing.T) {
		compareCards(t, eval[[]card](b, readCards), want.body["indicators"].([]any))
		rows := eval[int](b, `document.querySelectorAll('#ranking tbody tr[data-region]').length`)
		if children := len(want.body["children"].([]any)); rows != children || rows == 0 {
			t.Errorf("通报 rows: got %d, want %d children", rows, children)
		}
	})
	b.shoot("01-progress-zh")

	t.Run("a figure drills down to the events behind it", func(t *testing.T) {
		b.click(`#indicators .indicator[data-indicator="new_urban_jobs"] [data-actual]`)
		b.do("drill", chromedp.WaitVisible(chromedp.ID("drill")))
		if events := eval[int](b, `document.querySelectorAll('#drill-table tbody tr').length`); events == 0 {
			t.Errorf("the drill-down of new_urban_jobs lists no events")
		}
		b.shoot("02-drilldown")
		b.do("close", chromedp.Click(chromedp.ID("drill-close")), chromedp.WaitNotVisible(chromedp.ID("drill")))
	})

	t.Run("a placement posted through the API shows without a reload", func(t *testing.T) {
		before := b.cardActual("new_urban_jobs")
		eval[bool](b, `window.__sameDocument = true`)
		postPlacement(t, s, want.body, year)
		wantActual := strconv.Itoa(mustAtoi(t, before) + 1)
		got := before
		for deadline := time.Now().Add(liveTimeout); got != wantActual && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			got = b.cardActual("new_urban_jobs")
		}
		if got != wantActual {
			t.Errorf("new_urban_jobs on the page: got %s, want %s", got, wantActual)
		}
		if !eval[bool](b, `window.__sameDocument === true`) {
			t.Errorf("the page was reloaded")
		}
	})

	t.Run("the language switches to English and back", func(t *testing.T) {
		b.do("english", chromedp.Click(chromedp.ID("lang")))
		title := eval[string](b, `document.querySelector('h1').textContent`)
		first := eval[string](b, `document.querySelector('#indicators .indicator[data-indicator="new_urban_jobs"] h3').textContent`)
		if title != "Employment & Startup Ledger" || first != "New urban jobs" {
			t.Errorf("in English: title %q, indicator %q", title, first)
		}
		b.shoot("03-progress-en")
		b.do("chinese", chromedp.Click(chromedp.ID("lang")))
		if title := eval[string](b, `document.querySelector('h1').textContent`); title != "就业创业资金台账" {
			t.Errorf("back in Chinese: title %q", title)
		}
	})

	t.Run("the loan portfolio shows its figures and a chart", func(t *testing.T) {
		pf := s.must(200, "GET", "/v1/portfolio?region=610900&year="+year, viewer, nil)
		b.do("portfolio", chromedp.Click(chromedp.CSS(`#nav [data-page=portfolio]`)),
			chromedp.WaitVisible(chromedp.CSS(`#portfolio-chart svg`)))
		issued := eval[string](b, `document.querySelector('.kpi[data-field=issued_count]').dataset.value`)
		if want := fmt.Sprint(pf.body["issued_count"]); issued != want {
			t.Errorf("issued_count on the page: got %s, want %s", issued, want)
		}
		if bars := eval[int](b, `document.querySelectorAll('#portfolio-chart rect').length`); bars == 0 {
			t.Errorf("the chart has no bars")
		}
		b.shoot("04-portfolio")
	})

	t.Run("the funds page lists every fund with its balance", func(t *testing.T) {
		b.do("funds", chromedp.Click(chromedp.CSS(`#nav [data-page=funds]`)),
			chromedp.WaitVisible(chromedp.CSS(`#funds tbody tr[data-fund]`)))
		rows := eval[int](b, `document.querySelectorAll('#funds tbody tr[data-fund]').length`)
		list := s.must(200, "GET", "/v1/funds", viewer, nil)
		if want := len(list.body["funds"].([]any)); rows != want || rows == 0 {
			t.Errorf("fund rows: got %d, want %d", rows, want)
		}
		b.shoot("05-funds")
	})

	t.Run("an officer sees an account's history with running balance", func(t *testing.T) {
		fundID := eval[string](b, `document.querySelector('#funds tbody tr[data-fund]').dataset.fund`)
		b.click(`#funds tbody tr[data-fund="` + fundID + `"] button`)
		b.do("history", chromedp.WaitVisible(chromedp.ID("page-history")))
		start := time.Now()
		b.poll(`document.querySelectorAll('#history tbody tr td.strong').length > 0`)
		t.Logf("history shown in %v", time.Since(start))
		rows := eval[int](b, `document.querySelectorAll('#history tbody tr').length`)
		last := eval[string](b, `[...document.querySelectorAll('#history [data-balance-after]')].at(-1).dataset.balanceAfter`)
		h := s.must(200, "GET", "/v1/history?account=fund:"+fundID, officer, nil)
		entries := h.body["entries"].([]any)
		if want := min(len(entries), historyRows); rows != want {
			t.Errorf("history rows of fund %s: got %d, want %d", fundID, rows, want)
		}
		if want := entries[len(entries)-1].(map[string]any)["balance_after"]; last != want {
			t.Errorf("last running balance of fund %s: got %s, want %v", fundID, last, want)
		}
		b.shoot("06-history")
	})

	for _, p := range problems.all() {
		t.Errorf("browser: %s", p)
	}
}

// browser drives one tab for a test.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval runs a JavaScript expression in the page and returns its value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (b *browser) poll(js string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(liveTimeout))); err != nil {
		b.t.Fatalf("wait for %s: %v", js, err)
	}
}

// click clicks the first element matching css inside the page, in one step.
// The cards and tables are rebuilt whenever a live update or the refresh
// on connecting arrives, so a node found by one DevTools call can be gone
// by the next: chromedp.Click would then fail with "Could not find node".
func (b *browser) click(css string) {
	b.t.Helper()
	quoted, _ := json.Marshal(css)
	if !eval[bool](b, `(e => e ? (e.click(), true) : false)(document.querySelector(`+string(quoted)+`))`) {
		b.t.Fatalf("click: nothing matches %s", css)
	}
}

func (b *browser) signIn(s *testServer, token string) {
	b.t.Helper()
	b.do("sign in", chromedp.Navigate(s.m.URL()+"/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("signin-button")),
		chromedp.WaitVisible(chromedp.ID("page-progress")))
}

// shoot saves the page at each screen size.
func (b *browser) shoot(name string) {
	b.t.Helper()
	for _, screen := range screens {
		b.do("resize", chromedp.EmulateViewport(screen.width, screen.height), chromedp.Sleep(200*time.Millisecond))
		png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(b.shots, name+"-"+screen.name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("back to the office screen", chromedp.EmulateViewport(screens[0].width, screens[0].height))
}

// openAnkang picks 安康市 in the region picker and returns the year shown.
func (b *browser) openAnkang() string {
	b.t.Helper()
	b.do("pick 安康市", chromedp.SetValue(chromedp.ID("region"), "610900"))
	eval[bool](b, `document.getElementById('region').dispatchEvent(new Event('change'))`)
	b.poll(`document.querySelector('#crumbs strong')?.textContent === '安康市' &&
		document.querySelectorAll('#indicators .indicator').length > 0`)
	return eval[string](b, `document.getElementById('year').value`)
}

func (b *browser) cardActual(indicator string) string {
	b.t.Helper()
	return eval[string](b, `document.querySelector('#indicators .indicator[data-indicator="`+indicator+`"] [data-actual]').dataset.actual`)
}

// compareCards checks every indicator of the API answer against its card:
// the exact figures, and for counts the text a reader sees.
func compareCards(t *testing.T, got []card, want []any) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("cards: got %d, want %d indicators", len(got), len(want))
	}
	for i, w := range want {
		e := w.(map[string]any)
		if i >= len(got) {
			break
		}
		c := got[i]
		wantCard := card{Indicator: e["indicator"].(string), Issuer: str(e["issuer"]), Actual: e["actual"].(string),
			Target: str(e["target"]), Percent: str(e["percent"]), Text: c.Text}
		if c != wantCard {
			t.Errorf("card %d: got %+v, want %+v", i, c, wantCard)
		}
		if unit, counted := countUnits[c.Indicator]; counted {
			if want := groupDigits(c.Actual) + unit; c.Text != want {
				t.Errorf("%s shown as %q, want %q", c.Indicator, c.Text, want)
			}
		}
	}
}

// countUnits are the count indicators and the unit the Chinese page shows.
var countUnits = map[string]string{
	"new_urban_jobs": "人", "reemployed_unemployed": "人", "hard_to_employ_placed": "人",
	"rural_labour_transferred": "人", "poverty_labour_transferred": "人", "public_welfare_posts": "人",
	"community_factory_jobs": "人", "graduates_employed": "人", "startups_supported": "人",
	"vocational_trainings": "人", "entrepreneurship_trainings": "人",
	"loans_issued_count": "笔", "loans_poor_villages_count": "笔",
}

func groupDigits(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a count: %v", s, err)
	}
	return n
}

// postPlacement registers a new person in the first child of the shown
// region and records an urban job for them, which counts for new_urban_jobs.
func postPlacement(t *testing.T, s *testServer, progress map[string]any, year string) {
	t.Helper()
	county := progress["children"].([]any)[0].(map[string]any)["region"].(string)
	person := s.must(201, "POST", "/v1/beneficiaries", officer, map[string]any{"kind": "person",
		"id_number": idNumber("110105", "19881231", "997"), "name": "浏览器测试", "region_code": county})
	s.must(201, "POST", "/v1/placements", officer, map[string]any{"placement_id": "BROWSER-TEST-1",
		"beneficiary_id": person.body["beneficiary_id"], "kind": "urban_job", "region_code": county,
		"date": year + "-06-15", "employer": "浏览器测试公司"})
}

// idNumber completes a resident ID number with its GB 11643 check character.
func idNumber(area, birth, seq string) string {
	body := area + birth + seq
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// TestDashboardFiles checks what the browser is served and the downloads,
// without a browser.
func TestDashboardFiles(t *testing.T) {
	s := startDemoServer(t)
	get := func(path string, headers ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", s.m.URL()+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	t.Run("the page and its assets are served with their types and caching", func(t *testing.T) {
		cases := []struct{ path, contentType, cache string }{
			{"/", "text/html; charset=utf-8", "no-cache"},
			{"/assets/app.js", "text/javascript; charset=utf-8", "no-cache"},
			{"/assets/app.css", "text/css; charset=utf-8", "no-cache"},
			{"/assets/i18n.js", "text/javascript; charset=utf-8", "no-cache"},
		}
		for _, c := range cases {
			resp := get(c.path)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.contentType || resp.Header.Get("Cache-Control") != c.cache {
				t.Errorf("GET %s: got %d %q %q, want 200 %q %q", c.path, resp.StatusCode,
					resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), c.contentType, c.cache)
			}
		}
	})
	t.Run("the page names its assets by content hash and those are cached for good", func(t *testing.T) {
		page := readAll(t, get("/"))
		i := bytes.Index(page, []byte(`/assets/app.js?v=`))
		if i < 0 {
			t.Fatalf("the page does not name a versioned app.js: %s", page)
		}
		url := string(page[i : i+bytes.IndexByte(page[i:], '"')])
		resp := get(url)
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", url, got)
		}
		if again := get(url, "If-None-Match", resp.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: got %d, want 304", url, again.StatusCode)
		}
	})
	t.Run("an unknown path or asset is a 404", func(t *testing.T) {
		for _, path := range []string{"/nope", "/assets/nope.js", "/index.html"} {
			if got := get(path).StatusCode; got != http.StatusNotFound {
				t.Errorf("GET %s: got %d, want 404", path, got)
			}
		}
	})
	t.Run("a token in the URL is accepted by /v1/subscribe only", func(t *testing.T) {
		if got := get("/v1/progress?region=610900&year=2017&access_token=" + viewer).StatusCode; got != http.StatusUnauthorized {
			t.Errorf("/v1/progress with access_token: got %d, want 401", got)
		}
		if got := get("/v1/subscribe?views=progress&access_token=nope").StatusCode; got != http.StatusUnauthorized {
			t.Errorf("/v1/subscribe with a bad access_token: got %d, want 401", got)
		}
		resp := get("/v1/subscribe?views=progress&access_token=" + viewer)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("/v1/subscribe with access_token: got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("the 通报 workbook ranks every child for every indicator under Chinese headers", func(t *testing.T) {
		progress := s.must(200, "GET", "/v1/progress?region=610900&year=2017", viewer, nil)
		resp := get("/v1/progress/ranking.xlsx?region=610900&year=2017", "Authorization", "Bearer "+viewer)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("ranking.xlsx: got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		f, err := excelize.OpenReader(resp.Body)
		if err != nil {
			t.Fatalf("open the workbook: %v", err)
		}
		defer f.Close()
		rows, err := f.GetRows("通报")
		if err != nil {
			t.Fatalf("sheet 通报: %v", err)
		}
		if len(rows) < 2 || strings.Join(rows[1], ",") != "指标,目标下达,排名,地区代码,地区,目标,完成,完成率（%）,进度" {
			t.Fatalf("header: got %v", rows[:min(2, len(rows))])
		}
		want := 0
		for _, c := range progress.body["children"].([]any) {
			want += len(c.(map[string]any)["indicators"].([]any))
		}
		if got := len(rows) - 2; got != want || want == 0 {
			t.Errorf("workbook rows: got %d, want %d", got, want)
		}
		if first := rows[2]; first[2] != "1" {
			t.Errorf("the first row of the first indicator is ranked %s, want 1", first[2])
		}
	})
	t.Run("the region tree and funds lists answer the demo's regions and funds", func(t *testing.T) {
		regions := s.must(200, "GET", "/v1/regions", viewer, nil)
		if !strings.Contains(string(regions.raw), `"code":"610900","name":"安康市","parent_code":"610000"`) {
			t.Errorf("/v1/regions does not list 安康市 under 陕西省: %.300s", regions.raw)
		}
		years := fmt.Sprint(regions.body["years"])
		if !strings.HasPrefix(years, "[2017 2018 ") {
			t.Errorf("years: got %s, want the demo's years from 2017 on, oldest first", years)
		}
		funds := s.must(200, "GET", "/v1/funds", viewer, nil)
		for _, f := range funds.body["funds"].([]any) {
			id := f.(map[string]any)["fund_id"].(string)
			one := s.must(200, "GET", "/v1/funds/"+id, viewer, nil)
			if one.body["balance"] != f.(map[string]any)["balance"] {
				t.Errorf("fund %s: list says %v, GET says %v", id, f.(map[string]any)["balance"], one.body["balance"])
			}
		}
	})
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
