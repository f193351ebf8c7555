package worker

import (
	"context"
	"time"

	"github.com/rdonboard/rdonboard/internal/i18n"
	"github.com/rdonboard/rdonboard/internal/notify"
	"github.com/rdonboard/rdonboard/internal/web"
	"github.com/rdonboard/rdonboard/tasks"
)

// addNotify builds the configured owner channels, the Notifier the flow
// tells and the handler of the notify queue. A channel that cannot be
// built (an unreadable CA file) stops the worker at start.
func (p *parts) addNotify() {
	chans, err := notifyChannels(p)
	if err != nil {
		p.components = append(p.components, failedStart{err})
		return
	}
	if len(chans) == 0 {
		p.mux.Handle(tasks.TypeNudge, notify.DropNudge(p.d.Logger.Named("notify")))
		return
	}
	names := make([]string, len(chans))
	for i, c := range chans {
		names[i] = c.Name()
	}
	n := notify.NewNotifier(notify.NotifierParams{Store: p.store, Client: p.client, Channels: names,
		Logger: p.d.Logger.Named("notify")})
	p.events = n
	p.mux.HandleFunc(tasks.TypeNudge, n.HandleNudge)
	notify.NewDeliverer(notify.DelivererParams{Store: p.store, Channels: chans, Metrics: p.metrics,
		Links: p.ownerLinks(), Logger: p.d.Logger.Named("notify"), Now: p.d.Now, Rates: p.d.NotifyRates}).Register(p.mux)
}

// ownerLinks gives messages the phone's owner link, or nil when links are
// off (ONBOARD_LINK_SECRET unset): messages then go out without one.
func (p *parts) ownerLinks() notify.LinkMaker {
	cfg := p.d.Config
	if cfg.LinkSecret == "" {
		return nil
	}
	return phoneLinks{links: web.NewLinks(cfg.LinkSecret, p.d.Now),
		base: web.BaseURLFor(cfg.PublicURL, cfg.HTTPAddr, cfg.TLSCert != "")}
}

// phoneLinks makes owner links for messages as the owner page reads them.
type phoneLinks struct {
	links *web.Links
	base  string
}

// PhoneLink returns phone's owner link and when it expires.
func (l phoneLinks) PhoneLink(_ context.Context, phone string) (string, time.Time, error) {
	ol, err := l.links.ForPhone(phone, 0, l.base)
	return ol.URL, ol.ExpiresAt, err
}

// notifyChannels returns the channels the settings configure.
func notifyChannels(p *parts) ([]notify.Channel, error) {
	cfg := p.d.Config
	l := i18n.New(i18n.Parse(cfg.Locale), cfg.Location())
	var out []notify.Channel
	if cfg.SMTPURL != "" {
		e, err := notify.NewEmail(notify.EmailConfig{URL: cfg.SMTPURL, From: cfg.SMTPFrom, CAFile: cfg.SMTPCAFile}, l)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if cfg.NotifyWebhook != "" {
		out = append(out, notify.NewWebhook(cfg.NotifyWebhook, cfg.NotifySecret, nil))
	}
	if cfg.NotifyDingTalk != "" {
		out = append(out, notify.NewDingTalk(cfg.NotifyDingTalk, cfg.NotifyDingTalkSecret, l, nil, p.d.Now))
	}
	if cfg.NotifyFeishu != "" {
		out = append(out, notify.NewFeishu(cfg.NotifyFeishu, cfg.NotifyFeishuSecret, l, nil, p.d.Now))
	}
	if cfg.NotifyWeCom != "" {
		out = append(out, notify.NewWeCom(cfg.NotifyWeCom, l, nil))
	}
	return out, nil
}

// failedStart is a component whose Start reports a setting that could not
// be used, so the worker stops at start with that error.
type failedStart struct{ err error }

func (f failedStart) Start(context.Context) error    { return f.err }
func (f failedStart) Shutdown(context.Context) error { return nil }
