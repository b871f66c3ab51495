"""Which Apprise plugin module serves each URL scheme (Apprise 2.3.0).

``delivery.notify`` imports only the module of a channel URL's scheme to check and mask the
URL, instead of letting Apprise import all of its plugins. Apprise does that the first time
its plugin manager is used, which costs a warm ``weightwatch once`` more than all its polls of
a few hundred sources. A scheme not listed here (a newer Apprise, a native ``https://``
webhook URL) is checked the slow way, through Apprise itself.
``tests/delivery/test_apprise_schemes.py`` checks this table against Apprise's own plugin map
(its failure shows the table to write).
"""

from __future__ import annotations

APPRISE_VERSION = "2.3.0"

#: plugin module (in ``apprise.plugins``) -> the URL schemes it serves
MODULES: dict[str, tuple[str, ...]] = {
    "acs": ("acs",),
    "africas_talking": ("atalk",),
    "amqp": (
        "amqp",
        "amqps",
    ),
    "apprise_api": (
        "apprise",
        "apprises",
    ),
    "aprs": ("aprs",),
    "awswhatsapp": ("awswhatsapp",),
    "bale": ("bale",),
    "bark": (
        "bark",
        "barks",
    ),
    "betterstack": ("betterstack",),
    "blink1": ("blink1",),
    "bluesky": (
        "bluesky",
        "bsky",
    ),
    "brevo": ("brevo",),
    "bulksms": ("bulksms",),
    "bulkvs": ("bulkvs",),
    "burstsms": (
        "burstsms",
        "kudosity",
    ),
    "chanify": ("chanify",),
    "clickatell": ("clickatell",),
    "clicksend": ("clicksend",),
    "cliq": (
        "cliq",
        "zcliq",
        "zohocliq",
    ),
    "cm": ("cm",),
    "custom_form": (
        "form",
        "forms",
    ),
    "custom_json": (
        "json",
        "jsons",
    ),
    "custom_xml": (
        "xml",
        "xmls",
    ),
    "d7networks": ("d7sms",),
    "dapnet": ("dapnet",),
    "dbus": (
        "dbus",
        "kde",
        "qt",
    ),
    "deltachat": (
        "deltachat",
        "deltachats",
    ),
    "dingtalk": ("dingtalk",),
    "discord": ("discord",),
    "dot": ("dot",),
    "eight00com": ("eight00com",),
    "email": (
        "mailto",
        "mailtos",
    ),
    "emby": (
        "emby",
        "embys",
    ),
    "enigma2": (
        "enigma2",
        "enigma2s",
    ),
    "evolution": (
        "evolution",
        "evolutions",
    ),
    "exotel": ("exotel",),
    "fcm": ("fcm",),
    "feishu": ("feishu",),
    "firehydrant": ("firehydrant",),
    "flock": ("flock",),
    "flowtriq": (
        "flowtriq",
        "flowtriqs",
    ),
    "fluxer": (
        "fluxer",
        "fluxers",
    ),
    "fortysixelks": (
        "46elks",
        "elks",
    ),
    "freemobile": ("freemobile",),
    "github": ("github",),
    "glib": (
        "gio",
        "glib",
    ),
    "gnome": ("gnome",),
    "goalert": (
        "goalert",
        "goalerts",
    ),
    "google_chat": ("gchat",),
    "gorush": (
        "gorush",
        "gorushs",
    ),
    "gotify": (
        "gotify",
        "gotifys",
    ),
    "groundmail": ("groundmail",),
    "groupme": ("groupme",),
    "growl": ("growl",),
    "guilded": ("guilded",),
    "gupshup": ("gupshup",),
    "home_assistant": (
        "hassio",
        "hassios",
    ),
    "httpsms": ("httpsms",),
    "humhub": (
        "humhub",
        "humhubs",
    ),
    "ifttt": ("ifttt",),
    "ilert": ("ilert",),
    "incidentio": ("incidentio",),
    "infobip": ("infobip",),
    "instagram": ("instagram",),
    "irc": (
        "irc",
        "ircs",
    ),
    "jellyfin": (
        "jellyfin",
        "jellyfins",
    ),
    "jira": ("jira",),
    "join": ("join",),
    "kakaotalk": (
        "kakao",
        "kakaotalk",
    ),
    "kaleyra": (
        "kaleyra",
        "klr",
    ),
    "kavenegar": ("kavenegar",),
    "kodi": (
        "kodi",
        "kodis",
        "xbmc",
        "xbmcs",
    ),
    "kook": ("kook",),
    "kumulos": ("kumulos",),
    "lametric": (
        "lametric",
        "lametrics",
    ),
    "lark": ("lark",),
    "lauther": ("lauther",),
    "lfgalarm": ("lfg",),
    "line": ("line",),
    "macosx": ("macosx",),
    "mailersend": ("mailersend",),
    "mailgun": ("mailgun",),
    "mastodon": (
        "mastodon",
        "mastodons",
        "toot",
        "toots",
    ),
    "matrix": (
        "matrix",
        "matrixs",
    ),
    "mattermost": (
        "mmost",
        "mmosts",
    ),
    "messagebird": ("msgbird",),
    "misskey": (
        "misskey",
        "misskeys",
    ),
    "mobilemessage": (
        "mobilemessage",
        "mobilemsg",
    ),
    "mqtt": (
        "mqtt",
        "mqtts",
    ),
    "msg91": ("msg91",),
    "nextcloud": (
        "ncloud",
        "nclouds",
    ),
    "nextcloudtalk": (
        "nctalk",
        "nctalks",
    ),
    "nostr": ("nostr",),
    "notica": (
        "notica",
        "noticas",
    ),
    "notifiarr": ("notifiarr",),
    "notifico": (
        "notifico",
        "notificos",
    ),
    "notifyapp": ("notifyapp",),
    "notifyre": ("notifyre",),
    "ntfy": (
        "ntfy",
        "ntfys",
    ),
    "octopush": ("octopush",),
    "office365": (
        "azure",
        "o365",
    ),
    "one_signal": ("onesignal",),
    "onebot": (
        "onebot",
        "onebots",
    ),
    "opsgenie": ("opsgenie",),
    "opsimate": (
        "opsimate",
        "opsimates",
    ),
    "pagerduty": ("pagerduty",),
    "pagertree": ("pagertree",),
    "parseplatform": (
        "parsep",
        "parseps",
    ),
    "pinglet": (
        "pinglet",
        "pinglets",
    ),
    "pingram": ("pingram",),
    "plivo": ("plivo",),
    "postmark": ("postmark",),
    "prowl": ("prowl",),
    "pushbullet": ("pbul",),
    "pushdeer": (
        "pushdeer",
        "pushdeers",
    ),
    "pushed": ("pushed",),
    "pushjet": (
        "pjet",
        "pjets",
    ),
    "pushme": ("pushme",),
    "pushover": ("pover",),
    "pushplus": (
        "pushplus",
        "wecom",
    ),
    "pushsafer": (
        "psafer",
        "psafers",
    ),
    "pushward": ("pushward",),
    "pushy": ("pushy",),
    "qq": ("qq",),
    "reddit": ("reddit",),
    "resend": ("resend",),
    "revolt": ("revolt",),
    "ringcentral": ("ringc",),
    "rocketchat": (
        "rocket",
        "rockets",
    ),
    "rsyslog": ("rsyslog",),
    "ryver": ("ryver",),
    "sendgrid": ("sendgrid",),
    "sendpulse": ("sendpulse",),
    "serverchan": ("schan",),
    "serwersms": ("serwersms",),
    "ses": ("ses",),
    "seven": ("seven",),
    "sfr": ("sfr",),
    "signal_api": (
        "signal",
        "signals",
    ),
    "signalgrid": ("signalgrid",),
    "signl4": ("signl4",),
    "simplepush": (
        "simplepush",
        "spush",
    ),
    "sinch": ("sinch",),
    "slack": ("slack",),
    "smpp": (
        "smpp",
        "smpps",
    ),
    "smsc": ("smsc",),
    "smseagle": (
        "smseagle",
        "smseagles",
    ),
    "smsmanager": (
        "smsmanager",
        "smsmgr",
    ),
    "smstunnel": ("smstunnel",),
    "smtp2go": ("smtp2go",),
    "sns": ("sns",),
    "sogs": (
        "session",
        "sessions",
        "sogs",
    ),
    "sparkpost": ("sparkpost",),
    "spike": ("spike",),
    "splunk": (
        "splunk",
        "victorops",
    ),
    "spugpush": ("spugpush",),
    "squadcast": ("squadcast",),
    "stackfield": ("stackfield",),
    "streamlabs": ("strmlabs",),
    "synology": (
        "synology",
        "synologys",
    ),
    "syslog": ("syslog",),
    "techuluspush": ("push",),
    "telegram": ("tgram",),
    "telesign": ("telesign",),
    "telnyx": ("telnyx",),
    "threema": ("threema",),
    "trigv": (
        "trigv",
        "trigvs",
    ),
    "twilio": ("twilio",),
    "twist": ("twist",),
    "twitter": (
        "tweet",
        "twitter",
        "x",
    ),
    "vapid": ("vapid",),
    "viber": ("viber",),
    "voipms": ("voipms",),
    "vonage": (
        "nexmo",
        "vonage",
    ),
    "webexteams": (
        "webex",
        "wxteams",
    ),
    "wechat": ("wechat",),
    "wecombot": ("wecombot",),
    "whapi": ("whapi",),
    "whatsapp": ("whatsapp",),
    "windows": ("windows",),
    "workflows": (
        "workflow",
        "workflows",
    ),
    "wpush": ("wpush",),
    "wxpusher": ("wxpusher",),
    "xmatters": ("xmatters",),
    "xmpp": (
        "xmpp",
        "xmpps",
    ),
    "youlmk": ("youlmk",),
    "zalo": ("zalo",),
    "zoom": ("zoom",),
    "zulip": ("zulip",),
}

#: URL scheme -> its plugin module
SCHEMES: dict[str, str] = {
    scheme: module for module, schemes in MODULES.items() for scheme in schemes
}
