package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"kyso/api"
	"kyso/audit"
	"kyso/auth"
	"kyso/dossier"
	"kyso/dossier/dossiertest"
	"kyso/store"
	"kyso/store/storetest"
)

// dashClock is the settable clock of the seeded dossier service.
type dashClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dashClock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *dashClock) set(t time.Time)         { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *dashClock) advance(d time.Duration) { c.set(c.now().Add(d)) }

// provinceActivity gives a fixed set of citizens' certificates and
// signatures, named by the provinces' full Vietnamese names.
type provinceActivity struct{}

func (provinceActivity) CitizenActivity(_ context.Context, from, to time.Time) (*dossier.ActivityCounts, error) {
	out := &dossier.ActivityCounts{Active: map[string]int{"Thành phố Hà Nội": 120, "Thành phố Hồ Chí Minh": 80}}
	for d := from; d.Before(to); d = d.Add(24 * time.Hour) {
		for i := 0; i < d.UTC().Day()%4; i++ {
			out.Issued = append(out.Issued, dossier.ProvinceEvent{Province: "Thành phố Hà Nội", At: d.Add(3 * time.Hour)})
			out.Signatures = append(out.Signatures, dossier.ProvinceEvent{Province: "Thành phố Hà Nội", At: d.Add(4 * time.Hour)},
				dossier.ProvinceEvent{Province: "Thành phố Hà Nội", At: d.Add(5 * time.Hour)})
		}
		out.Issued = append(out.Issued, dossier.ProvinceEvent{Province: "TP. Hồ Chí Minh", At: d.Add(6 * time.Hour)})
	}
	return out, nil
}

type dashEnv struct {
	url string
	tok map[string]string
}

// seededProvince is Ha Noi with three districts of two communes each, and
// Ho Chi Minh City with one district.
var seededProvince = []dossier.Agency{
	{Code: "UBND-HN", Name: "Hà Nội", Level: dossier.LevelProvince},
	{Code: "UBND-HN-BD", Name: "Ba Đình", Level: dossier.LevelDistrict, ParentCode: "UBND-HN"},
	{Code: "UBND-HN-BD-PX", Name: "Phúc Xá", Level: dossier.LevelCommune, ParentCode: "UBND-HN-BD"},
	{Code: "UBND-HN-BD-TB", Name: "Trúc Bạch", Level: dossier.LevelCommune, ParentCode: "UBND-HN-BD"},
	{Code: "UBND-HN-HK", Name: "Hoàn Kiếm", Level: dossier.LevelDistrict, ParentCode: "UBND-HN"},
	{Code: "UBND-HN-HK-HB", Name: "Hàng Bạc", Level: dossier.LevelCommune, ParentCode: "UBND-HN-HK"},
	{Code: "UBND-HN-HK-HT", Name: "Hàng Trống", Level: dossier.LevelCommune, ParentCode: "UBND-HN-HK"},
	{Code: "UBND-HN-CG", Name: "Cầu Giấy", Level: dossier.LevelDistrict, ParentCode: "UBND-HN"},
	{Code: "UBND-HN-CG-DV", Name: "Dịch Vọng", Level: dossier.LevelCommune, ParentCode: "UBND-HN-CG"},
	{Code: "UBND-HN-CG-MD", Name: "Mai Dịch", Level: dossier.LevelCommune, ParentCode: "UBND-HN-CG"},
	{Code: "UBND-HCM", Name: "Hồ Chí Minh", Level: dossier.LevelProvince},
	{Code: "UBND-HCM-Q1", Name: "Quận 1", Level: dossier.LevelDistrict, ParentCode: "UBND-HCM"},
}

// March 2026 in Vietnam time.
var dashMonth = time.Date(2026, 3, 1, 0, 0, 0, 0, dossier.VietnamTime)

func newDashEnv(t *testing.T, db *store.DB) *dashEnv {
	t.Helper()
	ctx := context.Background()
	e := &dashEnv{tok: map[string]string{}}
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]auth.AddRequest{
		"hn":      {Role: auth.RoleAgency, AgencyCode: "UBND-HN", Name: "Văn phòng UBND Hà Nội"},
		"bd":      {Role: auth.RoleAgency, AgencyCode: "UBND-HN-BD", Name: "UBND quận Ba Đình"},
		"officer": {Role: auth.RoleOfficer, Name: "Cán bộ Bộ Công an"},
	} {
		_, tok, err := ps.Add(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		e.tok[name] = tok
	}
	clock := &dashClock{t: dashMonth}
	log, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	log.SetClock(clock.now)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	svc, err := dossier.New(ctx, dossier.Config{DB: db, Audit: log, EventKey: key, Sealer: dossiertest.NewFakeSealer(),
		Forms: dossiertest.AcceptForms{}, Now: clock.now, Activity: provinceActivity{}})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, ag := range seededProvince {
		if err := svc.Agencies().Upsert(ctx, ag); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, ag.Code)
	}
	if _, err := dossiertest.SeedHistory(ctx, svc, dossiertest.History{Agencies: codes, Start: dashMonth, Days: 31, PerDay: 2, Seed: 6, SetClock: clock.set}); err != nil {
		t.Fatal(err)
	}
	clock.set(time.Date(2026, 3, 31, 20, 0, 0, 0, dossier.VietnamTime))
	srv := httptest.NewServer(api.New(api.Deps{Principals: ps, Assertions: citizenTokens{"alice.jwt": aliceID}},
		api.NewDossierArea(svc, nil), api.NewDashboardArea(svc, ps, nil)))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// TestDashboardAccess: only agencies, officers and admins see figures; a
// browser signs in once with a form and keeps an HttpOnly, Secure,
// SameSite=Strict cookie valid for the dashboard only.
func TestDashboardAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newDashEnv(t, db)
		c := &http.Client{CheckRedirect: noRedirect}
		get := func(path string, h map[string]string) (*http.Response, string) {
			req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
			for k, v := range h {
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, string(b)
		}
		// Anonymous: to the sign-in form, no figures.
		resp, body := get("/dashboard?period=month&month=2026-03", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/login" || strings.Contains(body, "fig-") {
			t.Fatalf("anonymous: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		// A citizen: refused.
		resp, body = get("/dashboard?period=month&month=2026-03", map[string]string{"Authorization": "Bearer alice.jwt"})
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "fig-") {
			t.Fatalf("citizen: %d", resp.StatusCode)
		}
		// A bearer API token: the page.
		resp, body = get("/dashboard?period=month&month=2026-03", map[string]string{"Authorization": "Bearer " + e.tok["hn"]})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="fig-received_online"`) {
			t.Fatalf("agency token: %d", resp.StatusCode)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("CSP %q", csp)
		}
		// Ha Noi never sees Ho Chi Minh City, by link or by asking.
		if strings.Contains(body, "UBND-HCM") || strings.Contains(body, "Hồ Chí Minh") {
			t.Error("Ha Noi's dashboard names Ho Chi Minh City")
		}
		resp, body = get("/dashboard?agency=UBND-HCM", map[string]string{"Authorization": "Bearer " + e.tok["hn"]})
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "fig-") {
			t.Errorf("Ha Noi asks for Ho Chi Minh City: %d", resp.StatusCode)
		}
		resp, _ = get("/v1/reports/five-step?agency=UBND-HCM", map[string]string{"Authorization": "Bearer " + e.tok["hn"]})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the API gives Ha Noi Ho Chi Minh City: %d", resp.StatusCode)
		}
		// Bad periods are clear errors, not 500s.
		for _, q := range []string{"period=week", "period=month&month=March", "period=custom&from=2026-03-10&to=2026-03-01", "period=quarter&quarter=2026-Q5"} {
			if resp, _ := get("/dashboard?"+q, map[string]string{"Authorization": "Bearer " + e.tok["officer"]}); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %d", q, resp.StatusCode)
			}
		}

		// Sign-in form: a wrong token gets 401, a right one a cookie.
		post := func(path string, form url.Values, h map[string]string) *http.Response {
			req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range h {
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if resp := post("/dashboard/login", url.Values{"token": {"kyso_0000000000000000_AAAA"}}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("wrong token: %d", resp.StatusCode)
		}
		if resp := post("/dashboard/login", url.Values{"token": {e.tok["hn"]}}, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site sign-in: %d", resp.StatusCode)
		}
		resp = post("/dashboard/login", url.Values{"token": {e.tok["hn"]}}, map[string]string{"Origin": e.url})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", resp.StatusCode)
		}
		var session *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == api.SessionCookie {
				session = ck
			}
		}
		if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode || session.Path != "/dashboard" {
			t.Fatalf("session cookie %+v", session)
		}
		cookie := map[string]string{"Cookie": api.SessionCookie + "=" + session.Value}
		if resp, _ := get("/dashboard", cookie); resp.StatusCode != http.StatusOK {
			t.Errorf("with the session: %d", resp.StatusCode)
		}
		// The cookie is no credential for the API.
		if resp, _ := get("/v1/reports/five-step", cookie); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("the API accepts the dashboard cookie: %d", resp.StatusCode)
		}
		if resp := post("/dashboard/logout", nil, map[string]string{"Origin": e.url, "Cookie": cookie["Cookie"]}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("sign-out: %d", resp.StatusCode)
		}
		if resp, _ := get("/dashboard", cookie); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("after sign-out: %d", resp.StatusCode)
		}
	})
}

var dataValue = regexp.MustCompile(`id="fig-([a-z_]+)" data-value="([^"]*)"`)

// TestDashboardFiguresAreTheReport: every figure on the page equals the
// API's for the same period and selection.
func TestDashboardFiguresAreTheReport(t *testing.T) {
	e := newDashEnv(t, storetest.SQLite(t))
	for _, tc := range []struct{ who, agency string }{{"hn", ""}, {"hn", "UBND-HN-BD"}, {"officer", ""}, {"bd", "UBND-HN-BD-TB"}} {
		page := fetch(t, e.url+"/dashboard?period=month&month=2026-03&agency="+tc.agency, e.tok[tc.who])
		rep := apiReport(t, e, tc.who, tc.agency)
		shown := map[string]string{}
		for _, m := range dataValue.FindAllStringSubmatch(page, -1) {
			shown[m[1]] = m[2]
		}
		checkFigures(t, tc.who+"/"+tc.agency, shown, rep)
	}
}

func fetch(t *testing.T, u, tok string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func apiReport(t *testing.T, e *dashEnv, who, agency string) dossier.Report {
	t.Helper()
	q := url.Values{"from": {dashMonth.UTC().Format(time.RFC3339)}, "to": {dashMonth.AddDate(0, 1, 0).UTC().Format(time.RFC3339)}, "agency": {agency}}
	var rep dossier.Report
	if err := json.Unmarshal([]byte(fetch(t, e.url+"/v1/reports/five-step?"+q.Encode(), e.tok[who])), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func checkFigures(t *testing.T, name string, shown map[string]string, rep dossier.Report) {
	t.Helper()
	tot := rep.Total
	if tot.ReceivedOnline == 0 {
		t.Fatalf("%s: the seeded data gives an empty report", name)
	}
	ip := func(v *int) string {
		if v == nil {
			return ""
		}
		return strconv.Itoa(*v)
	}
	i64 := func(v *int64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatInt(*v, 10)
	}
	citizens := 0
	if tot.SignaturesCitizen != nil {
		citizens = *tot.SignaturesCitizen
	}
	want := map[string]string{
		"certificates_issued": ip(tot.CertificatesIssued),
		"signatures":          strconv.Itoa(citizens + tot.SignaturesSeal),
		"received_online":     strconv.Itoa(tot.ReceivedOnline),
		"digitized_share":     strconv.FormatFloat(tot.DigitizedShare, 'f', -1, 64),
		"signed_share":        strconv.FormatFloat(tot.SignedShare, 'f', -1, 64),
		"returned_share":      strconv.FormatFloat(tot.ReturnedShare, 'f', -1, 64),
		"median_receive":      i64(tot.MedianSeconds.Receive),
		"median_process":      i64(tot.MedianSeconds.Process),
		"median_sign":         i64(tot.MedianSeconds.Sign),
		"median_return":       i64(tot.MedianSeconds.Return),
	}
	for k, v := range want {
		if shown[k] != v {
			t.Errorf("%s: figure %s shows %q, the API says %q", name, k, shown[k], v)
		}
	}
	if len(shown) != len(want) {
		t.Errorf("%s: the page shows %d figures, want %d: %v", name, len(shown), len(want), shown)
	}
}

// TestDashboardInBrowser signs in through the form in headless Chromium,
// reads the figures of Ha Noi for March 2026 against the API, drills down
// to a district from the table and saves screenshots at desktop and phone
// width and as printed.
func TestDashboardInBrowser(t *testing.T) {
	chromium := requireChromium(t)
	e := newDashEnv(t, storetest.SQLite(t))
	artifacts := os.Getenv("KYSO_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.ArtifactDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(artifacts, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	readFigures := func() map[string]string {
		t.Helper()
		nodes, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]string](`Array.from(document.querySelectorAll('[id^="fig-"]')).map(e => ({id: e.id.slice(4), v: e.dataset.value}))`))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range nodes {
			out[n["id"]] = n["v"]
		}
		return out
	}
	// Sign in through the form; the browser comes back to the dashboard.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.url+"/dashboard?period=month&month=2026-03"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), e.tok["hn"]),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("fig-received_online")),
		chromedp.Navigate(e.url+"/dashboard?period=month&month=2026-03"),
		chromedp.WaitVisible(chromedp.ID("fig-received_online")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	checkFigures(t, "browser/UBND-HN", readFigures(), apiReport(t, e, "hn", ""))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Chứng thư số miễn phí đã cấp", "Hồ sơ tiếp nhận trực tuyến", "Tỷ lệ số hóa hồ sơ", "Ba Đình", "Tháng 3/2026"} {
		if !strings.Contains(text, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.chart rect, svg.chart polyline').length`))
	if err != nil || charts == 0 {
		t.Errorf("no chart drawn (%d, %v)", charts, err)
	}
	shot("dashboard-desktop.png")

	// Sort the table by seal signatures, then drill down to Ba Dinh.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#agencies th:nth-child(7) a`)),
		chromedp.WaitVisible(chromedp.CSS(`#agencies th:nth-child(7) a[aria-sort]`)),
		chromedp.Click(chromedp.CSS(`#agencies tr[data-code="UBND-HN-BD"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#agencies tr[data-code="UBND-HN-BD-PX"]`)),
	); err != nil {
		t.Fatalf("drill down: %v", err)
	}
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("agency-name")))
	if err != nil || name != "Ba Đình" {
		t.Fatalf("after drilling down the page shows %q (%v)", name, err)
	}
	checkFigures(t, "browser/UBND-HN-BD", readFigures(), apiReport(t, e, "hn", "UBND-HN-BD"))

	// Phone width, then as printed.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	shot("dashboard-phone.png")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	navShown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('nav.tree')).display !== 'none'`))
	if err != nil || navShown {
		t.Errorf("the printed page keeps the navigation (%v)", err)
	}
	shot("dashboard-print.png")
	t.Logf("screenshots in %s", artifacts)
}
