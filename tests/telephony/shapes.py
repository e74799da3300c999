"""Every shape of call document the web layer answers with today (voice.py, voice_service.py)."""

from __future__ import annotations

from ivr.telephony import doc as d

B = "https://ivr.test/voice"
MUSIC = "https://ivr.test/static/hold.mp3"

SHAPES: dict[str, d.Doc] = {
    "empty (status callbacks)": d.doc(),
    "menu, keys and speech, # offered, English offer in its own voice": d.doc(
        d.Gather(f"{B}/gather?ln=12345&f=entry-12345&r=1&n=root&t=0&lg=zh-CN",
                 (d.Say("您好，这里是12345热线。咨询请按1，投诉请按2，重听请按#。"),
                  d.Say("For English, press 9.", "en-US")),
                 speech=True, num_digits=1, timeout=6, keys=("1", "2", "9", "#"),
                 hints=("咨询", "投诉", "English"), lang="zh-CN"),
        d.Redirect(f"{B}/gather?ln=12345&f=entry-12345&r=1&n=root&t=1&lg=zh-CN")),
    "menu after switching to English": d.doc(
        d.Gather(f"{B}/gather?ln=12345&f=entry-12345&r=1&n=english&t=0&lg=en-US",
                 (d.Say("For enquiries press 1, for complaints press 2.", "en-US"),),
                 speech=True, num_digits=1, keys=("1", "2"), lang="en-US"),
        d.Redirect(f"{B}/gather?ln=12345&f=entry-12345&r=1&n=english&t=1&lg=en-US")),
    "notice then queue join": d.doc(
        d.Say("12300电信用户申诉热线已并入12345政务服务便民热线，今后请直接拨打12345。"),
        d.Redirect(f"{B}/queue?ln=12300&q=pool&sk=12300&pr=0&lg=zh-CN&wd=30")),
    "hold loop with announcement and music": d.doc(
        d.Say("您前面还有3位。预计等待约2分钟，请不要挂机。"), d.Play(MUSIC),
        d.Redirect(f"{B}/wait?lang=zh-CN&loop=1&pos=4")),
    "hold loop in silence": d.doc(d.Pause(10), d.Redirect(f"{B}/wait?lang=zh-CN&loop=2&pos=4")),
    "hold loop with the callback offer": d.doc(
        d.Gather(f"{B}/callback-offer?lang=zh-CN",
                 (d.Say("您前面还有3位。"), d.Say("如需我们稍后回拨，请按1，您的排队位置将为您保留。"),
                  d.Play(MUSIC)), num_digits=1, timeout=1, keys=("1",)),
        d.Redirect(f"{B}/wait?lang=zh-CN&loop=1&pos=4")),
    "seat dial, browser client": d.doc(d.DialSeat(
        "client:s01", 20, f"{B}/dial-done?call=CA1&seat=s01&lang=zh-CN",
        f"{B}/seat-answered?call=CA1&seat=s01")),
    "seat dial, SIP phone": d.doc(d.DialSeat(
        "sip:s02@pbx.example.gov.cn", 20, f"{B}/dial-done?call=CA1&seat=s02&lang=zh-CN",
        f"{B}/seat-answered?call=CA1&seat=s02", caller_id="+8613800138000")),
    "seat dial, mobile number, after the callback greeting": d.doc(
        d.Say("您好，这里是12345政务服务便民热线，您之前预约了回拨，现在为您接通人工服务。"),
        d.DialSeat("+8613900139000", 20, f"{B}/dial-done?call=CA1&seat=s03&lang=zh-CN",
                   f"{B}/seat-answered?call=CA1&seat=s03")),
    "survey then hangup": d.doc(
        d.Gather(f"{B}/survey?call=CA1&lang=zh-CN",
                 (d.Say("请对本次服务进行评价：满意请按1，基本满意请按2，不满意请按3。"),),
                 num_digits=1, timeout=5, keys=("1", "2", "3")),
        d.Hangup()),
    "goodbye in English": d.doc(d.Say("Thank you for your feedback. Goodbye.", "en-US"), d.Hangup()),
    "transfer to 110 through the carrier": d.doc(
        d.Say("正在为您转接110报警服务台。"),
        d.DialTarget(d.Target("110", "sip:110@gw.carrier.example.cn"),
                     f"{B}/transfer-done?target=police&ln=12345&f=entry-12345&r=1&n=root&lg=zh-CN",
                     caller_id="+8613800138000")),
    "transfer to a utility's E.164 line": d.doc(d.DialTarget(
        d.Target("96116", "+861096116"), f"{B}/transfer-done?target=water", timeout=25)),
    "transfer failed, back to the queue": d.doc(
        d.Say("对不起，转接未能接通，现在为您重新排队。"),
        d.Redirect(f"{B}/queue?ln=12345&q=pool&sk=any&pr=0&lg=zh-CN&wd=")),
    "apology and backup dial": d.doc(
        d.Say("对不起，系统暂时繁忙，正在为您转接人工服务。"),
        d.DialBackup("+861012345000", f"{B}/backup-done", timeout=30)),
    "warm transfer conference, seat leg": d.doc(
        d.Conference("xfer-CA1", end_on_exit=False, status=f"{B}/conference-event?call=CA1&seat=s01")),
    "warm transfer conference, caller leg": d.doc(d.Conference("xfer-CA1", end_on_exit=True)),
    "rate limited": d.doc(d.Say("您的来电过于频繁，请稍后再拨。"), d.Hangup()),
    "callback declined, back to waiting": d.doc(d.Redirect(f"{B}/wait?lang=zh-CN")),
}
