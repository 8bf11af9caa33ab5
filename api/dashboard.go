package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/xuri/excelize/v2"

	"github.com/hrss-ledger/ledger/domain"
)

// The web dashboard: static files embedded in the binary, served at / and
// /assets/NAME, plus the few endpoints only a dashboard needs (who am I, the
// region tree and the funds for its pickers, the 通报 workbook).

//go:embed web
var webFiles embed.FS

// Media types of what the dashboard serves. An explicit table rather than
// mime.TypeByExtension: the system's mime.types must not change what the
// browser is told (a wrong type on a script is blocked under nosniff).
var assetTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// xlsxMedia is the media type of an Excel workbook.
const xlsxMedia = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Caching of the dashboard's files.
const (
	// immutableCache is for an asset asked under its content hash (?v=): a
	// new build changes the hash, so the browser may keep it for a year.
	immutableCache = "public, max-age=31536000, immutable"
	// revalidateCache is for the page itself and unversioned asset URLs:
	// the browser keeps them but asks with the ETag each time.
	revalidateCache = "no-cache"
	// dashboardCSP allows only the dashboard's own files and API: no CDN, no
	// inline script; the empty favicon is a data: URL.
	dashboardCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

// webAsset is one embedded file, ready to serve.
type webAsset struct {
	body        []byte
	contentType string
	etag        string
	version     string // first hex digits of the content hash
}

// webSite is the dashboard's files, loaded once per process.
type webSite struct {
	index  webAsset
	assets map[string]webAsset
}

var (
	siteOnce sync.Once
	site     *webSite
)

// loadSite reads the embedded files and points the page at the versioned
// URLs of its assets, so that a new build is never mixed with a cached old one.
func loadSite() *webSite {
	siteOnce.Do(func() {
		site = &webSite{assets: map[string]webAsset{}}
		entries, err := fs.ReadDir(webFiles, "web")
		if err != nil {
			panic("api: dashboard: embedded web files: " + err.Error())
		}
		for _, e := range entries {
			if e.IsDir() || e.Name() == "index.html" {
				continue
			}
			body, _ := fs.ReadFile(webFiles, "web/"+e.Name())
			site.assets[e.Name()] = newAsset(e.Name(), body)
		}
		page, err := fs.ReadFile(webFiles, "web/index.html")
		if err != nil {
			panic("api: dashboard: embedded web/index.html: " + err.Error())
		}
		for name, a := range site.assets {
			page = bytes.ReplaceAll(page, []byte(`"/assets/`+name+`"`), []byte(`"/assets/`+name+`?v=`+a.version+`"`))
		}
		site.index = newAsset("index.html", page)
	})
	return site
}

func newAsset(name string, body []byte) webAsset {
	sum := sha256.Sum256(body)
	version := hex.EncodeToString(sum[:6])
	contentType, ok := assetTypes[path.Ext(name)]
	if !ok {
		contentType = "application/octet-stream"
	}
	return webAsset{body: body, contentType: contentType, etag: `"` + version + `"`, version: version}
}

// staticRoute is a route of the dashboard's files. They are not part of the
// API, so the OpenAPI document leaves them out; openapi_test checks that
// none of them is under /v1 and that they are the only routes it leaves out.
type staticRoute struct {
	pattern string
	handler http.HandlerFunc
}

func (s *Server) staticRoutes() []staticRoute {
	return []staticRoute{
		// {$}: only / itself, so that an unknown path stays a 404.
		{"GET /{$}", serveIndex},
		{"GET /assets/{name}", serveAsset},
	}
}

func serveIndex(w http.ResponseWriter, r *http.Request) {
	writeAsset(w, r, loadSite().index, revalidateCache)
}

func serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := loadSite().assets[r.PathValue("name")]
	if !ok {
		writeProblem(w, r, notFound("no such dashboard file"))
		return
	}
	cache := revalidateCache
	if r.URL.Query().Get("v") == a.version {
		cache = immutableCache
	}
	writeAsset(w, r, a, cache)
}

func writeAsset(w http.ResponseWriter, r *http.Request, a webAsset, cache string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cache)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", dashboardCSP)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(a.body)
}

// tokenFromQuery lets a browser's EventSource, which cannot send an
// Authorization header, name its token as ?access_token=. It is wrapped
// around GET /v1/subscribe only: elsewhere a token in a URL would end up in
// histories and proxy logs. The token is then checked by authenticate, in
// constant time, like any other; it is removed from the URL first.
func tokenFromQuery(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		token := q.Get("access_token")
		if token != "" && r.Header.Get("Authorization") == "" {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+token)
			q.Del("access_token")
			r.URL.RawQuery = q.Encode()
		}
		next(w, r)
	}
}

// accessTokenParam documents tokenFromQuery.
var accessTokenParam = param{name: "access_token", in: "query",
	description: "the bearer token, for clients that cannot send an Authorization header (EventSource); only here",
	schema:      map[string]any{"type": "string"}}

// whoAmI is the answer of GET /v1/whoami: the dashboard shows what a role may see.
type whoAmI struct {
	Role string `json:"role"`
	Name string `json:"name"`
}

func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	writeJSON(w, http.StatusOK, whoAmI{Role: string(p.Role), Name: p.Name})
}

// regionList is the answer of GET /v1/regions.
type regionList struct {
	Regions []domain.RegionNode `json:"regions"`
	// Years are the calendar years with a target, a statistic or a counted figure, oldest first.
	Years []int `json:"years"`
}

// fundList is the answer of GET /v1/funds.
type fundList struct {
	Funds []domain.FundReport `json:"funds"`
}

func (s *Server) regionList(*http.Request) (any, error) {
	return regionList{Regions: s.views.RegionTree(), Years: s.views.Years()}, nil
}

func (s *Server) fundList(r *http.Request) (any, error) {
	asOf, err := params{r}.date("as_of")
	if err != nil {
		return nil, err
	}
	out := fundList{Funds: []domain.FundReport{}}
	for _, id := range s.views.FundIDs() {
		f, err := s.views.Fund(id, asOf)
		if err != nil {
			return nil, fmt.Errorf("api: fund %s: %w", id, err)
		}
		out.Funds = append(out.Funds, f)
	}
	return out, nil
}

// indicatorNames are the indicators as the 通报 names them.
var indicatorNames = map[string]string{
	"new_urban_jobs": "城镇新增就业", "reemployed_unemployed": "失业人员再就业",
	"hard_to_employ_placed": "就业困难人员就业", "rural_labour_transferred": "农村劳动力转移就业",
	"poverty_labour_transferred": "贫困劳动力转移就业", "public_welfare_posts": "公益性岗位安置",
	"community_factory_jobs": "社区工厂吸纳就业", "graduates_employed": "高校毕业生就业",
	"startups_supported": "扶持创业", "loans_issued_count": "创业担保贷款发放笔数",
	"loans_issued_amount": "创业担保贷款发放金额（元）", "loans_poor_villages_count": "贫困村创业担保贷款笔数",
	"loans_poor_villages_amount": "贫困村创业担保贷款金额（元）", "vocational_trainings": "职业技能培训",
	"entrepreneurship_trainings": "创业培训", "subsidies_paid_amount": "就业补助资金支出（元）",
	"registered_unemployment_rate": "城镇登记失业率（%）",
}

var issuerNames = map[string]string{"province": "省定", "city": "市定", "county": "县定"}

// rankingHeader is the 通报 table's header row.
var rankingHeader = []any{"指标", "目标下达", "排名", "地区代码", "地区", "目标", "完成", "完成率（%）", "进度"}

// rankingSheet is the worksheet's name.
const rankingSheet = "通报"

// rankingXLSX answers GET /v1/progress/ranking.xlsx: the children of a
// region ranked per indicator, the monthly 通报, as an Excel workbook.
func (s *Server) rankingXLSX(w http.ResponseWriter, r *http.Request) {
	if err := s.catchUp(r); err != nil {
		writeProblem(w, r, err)
		return
	}
	v, err := s.progress(r)
	if err != nil {
		writeProblem(w, r, queryProblem(err))
		return
	}
	report := v.(domain.ProgressReport)
	data, err := rankingWorkbook(report)
	if err != nil {
		writeProblem(w, r, fmt.Errorf("api: ranking workbook: %w", err))
		return
	}
	name := fmt.Sprintf("tongbao-%s-%d.xlsx", report.Region, report.Year)
	w.Header().Set("Content-Type", xlsxMedia)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// rankingWorkbook lays out the 通报: a title, the header, then per indicator
// the children by rank. Figures stay text, as the API gives them: a float
// cell would round money.
func rankingWorkbook(report domain.ProgressReport) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", rankingSheet); err != nil {
		return nil, err
	}
	title := fmt.Sprintf("%s %d年 就业创业目标任务完成情况通报（截至 %s）", report.Name, report.Year, report.AsOf)
	rows := append([][]any{{title}, rankingHeader}, rankingRows(report)...)
	for i, row := range rows {
		if err := f.SetSheetRow(rankingSheet, fmt.Sprintf("A%d", i+1), &row); err != nil {
			return nil, err
		}
	}
	if err := f.SetColWidth(rankingSheet, "A", "A", 28); err != nil {
		return nil, err
	}
	if err := f.SetColWidth(rankingSheet, "E", "E", 16); err != nil {
		return nil, err
	}
	f.SetDocProps(&excelize.DocProperties{Title: title, Subject: report.Region})
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rankingRows is one row per child and indicator, grouped by indicator in
// the order of the region's own figures, best rank first.
func rankingRows(report domain.ProgressReport) [][]any {
	type line struct {
		key   string
		rank  int
		child domain.RegionProgress
		e     domain.IndicatorProgress
	}
	var lines []line
	order := map[string]int{}
	for _, child := range report.Children {
		for _, e := range child.Indicators {
			key := e.Indicator + "/" + deref(e.Issuer, "")
			if _, seen := order[key]; !seen {
				order[key] = len(order)
			}
			lines = append(lines, line{key, e.Rank, child, e})
		}
	}
	slices.SortStableFunc(lines, func(a, b line) int {
		if a.key != b.key {
			return order[a.key] - order[b.key]
		}
		return a.rank - b.rank
	})
	rows := make([][]any, 0, len(lines))
	for _, l := range lines {
		rows = append(rows, []any{nameOr(indicatorNames, l.e.Indicator), nameOr(issuerNames, deref(l.e.Issuer, "")),
			l.rank, l.child.Region, l.child.Name, deref(l.e.Target, "—"), l.e.Actual, deref(l.e.Percent, "—"),
			onTrackText(l.e.OnTrack)})
	}
	return rows
}

func deref(s *string, absent string) string {
	if s == nil {
		return absent
	}
	return *s
}

func nameOr(names map[string]string, key string) string {
	if n, ok := names[key]; ok {
		return n
	}
	return key
}

func onTrackText(onTrack *bool) string {
	switch {
	case onTrack == nil:
		return "无目标"
	case *onTrack:
		return "正常"
	}
	return "滞后"
}
