"""Boilerplate, second layer: line rules and per-document dedup of the extracted text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sitrep.clean.text import fold_lines, word_count

_LEAD_WORDS = re.compile(
    r"^\W{0,3}(?:related(?:\s+(?:stories|story|articles?|coverage|content|reading|news))?"
    r"|read\s+(?:more|also|next)|also\s+read|see\s+also|more\s+on\s+this(?:\s+story)?"
    r"|further\s+reading|recommended(?:\s+reading)?|don'?t\s+miss|must\s+read|watch|listen"
    r"|(?:à\s+)?lire\s+(?:aussi|également|la\s+suite)|voir\s+aussi|sur\s+le\s+même\s+sujet"
    r"|lea\s+también|lee\s+también|ver\s+también|te\s+puede\s+interesar"
    r"|lesen\s+sie\s+(?:auch|hier|mehr)|auch\s+lesen|mehr\s+zum\s+thema|auch\s+interessant"
    r"|das\s+könnte\s+(?:dich|sie)\s+auch\s+interessieren|ayrıca\s+okuyun|ilgili\s+haber"
    r"|czytaj\s+(?:też|także|również|więcej)|zobacz\s+(?:też|także|również)"
    r"|dowiedz\s+się\s+więcej|vea\s+también|puedes\s+ver|leia\s+(?:também|mais)"
    r"|veja\s+(?:também|mais)|leggi\s+anche|lees\s+ook|läs\s+även|les\s+også"
    r"|[اإ]قر[أا]\s+[أا]يض[اًا]+|طالع\s+[أا]يض[اًا]+|شاهد\s+[أا]يض[اًا]+|للمزيد)"
    r"\s*[:：\-–—|»›]",
    re.IGNORECASE,
)
_AGENCIES = (
    r"Reuters|REUTERS|AFP|AP|Associated\s+Press|EPA(?:-EFE)?|EFE|Getty\s+Images|Anadolu"
    r"(?:\s+Agency)?|AA|Xinhua|SANA|IRNA|WANA|Sputnik|TASS|Bloomberg|Shutterstock|Alamy"
    r"|ZUMA(?:\s+Press)?|NurPhoto|SOPA\s+Images|Sipa(?:\s+USA)?|Abaca|dpa|picture\s+alliance"
    r"|File\s+Photo|File|Handout|Pool|Stringer"
)
_CAPTION_PATTERNS = (
    # "... Stringer/Reuters", "... REUTERS/File Photo", "... MPA/File Photo"
    re.compile(rf"(?:^|\s)[\w.'’ -]{{1,40}}/(?:{_AGENCIES})\)?\s*$"),
    re.compile(rf"(?:^|\s)(?:{_AGENCIES})/[\w.'’ -]{{2,40}}\)?\s*$"),
    re.compile(r"\b(?:via|for)\s+Getty\s+Images\)?\s*$"),
    # "... © AFP / MARCO BERTORELLO", "Copyright: Gisele Wender": a picture's credit line
    re.compile(rf"©\s*(?:{_AGENCIES}|[A-Z]{{2,5}})\s*/\s*[\w.'’ -]{{2,40}}$"),
    re.compile(r"^(?:copyright|bildrechte|©)\s*:\s*[\w.'’ -]{2,40}$", re.IGNORECASE),
    # "(Foto: Natacha Pisarenko/Pool via AP)": a picture credit through an agency
    re.compile(rf"/[\w.'’ -]{{2,40}}\s+via\s+(?:{_AGENCIES})\)?\s*$"),
    # "(Photo: Tigris Herald/Ali Kareem)", "Photo credit: ...", "Crédit photo : ..."
    re.compile(
        r"[(\[]?\b(?:photos?|pictures?|images?|credit|fotos?|crédits?(?:\s+photos?)?|صورة"
        r"|titelbild|beitragsbild|bildquelle|bild|zdjęcie|fot)"
        r"(?:\s+credit)?\s*:\s*[^.!?]{2,80}[)\]]?\s*$",
        re.IGNORECASE,
    ),
    # Reuters picture codes and "FILE PHOTO:" captions
    re.compile(r"^(?:RTX|RTR|RC)[0-9A-Z]{4,}\b"),
    re.compile(r"^FILE\s+PHOTO\s*:", re.IGNORECASE),
)
_CAPTION_MAX_CHARS = 600
#: Every caption pattern needs one of these; most lines have none and skip the patterns.
_CAPTION_HINT = re.compile(r"/|:|Getty|^R[TC]|©", re.IGNORECASE)
_NEWSLETTER = re.compile(
    r"\bsign(?:ing)?[\s-]+up\b.{0,80}\b(?:newsletter|briefing|bulletin|digest|inbox|e-?mail|alerts?)\b"
    r"|\bsubscribe\b.{0,80}\b(?:newsletter|briefing|bulletin|digest|inbox|e-?mail|alerts?)\b"
    r"|\b(?:in|to)\s+your\s+inbox\b|\bunsubscribe\s+at\s+any\s+time\b|\bby\s+signing\s+up\b"
    r"|\benter\s+your\s+e-?mail\b|\bnewsletter\s+sign[\s-]*up\b"
    r"|\binscrivez-vous\b|\babonnez-vous\b|\ben\s+vous\s+inscrivant\b|\bdésinscrire\b"
    r"|\blettre\s+d['’]information\b|\bnewsletter\s+abonnieren\b|\bsuscr[ií]bete\b"
    r"|\bnewsletter\b.{0,60}\b(?:erhalten|abonnieren|anmelden|bestellen)\b"
    r"|\b(?:e-?mail|inbox)\b.{0,80}\bsign[\s-]*up\b"
    r"|\bboîte\s+(?:mail|e-?mail|de\s+réception)\b"
    r"|النشرة\s+البريدية|باشتراكك",
    re.IGNORECASE,
)
#: A recurring product pitched to the reader: "... the ten stories you need, every weekday".
_NEWSLETTER_PITCH = re.compile(
    r"\bevery\s+(?:weekday|day|morning|evening|week|(?:mon|tues|wednes|thurs|fri|satur|sun)day)"
    r"\b",
    re.IGNORECASE,
)
#: ... and the product: a generic name, or a named one ("Morning Wire", "Friday Letter"),
#: so that "he wrote a letter every week" stays article text.
_NEWSLETTER_PRODUCT = re.compile(
    r"(?i:\b(?:newsletter|briefing|digest|bulletin|inbox|long\s+reads?|stories\s+you\s+need)\b)"
    r"|\b[A-Z][a-z]+\s+(?:Letter|Wire|Edition|Briefing|Brief|Digest|Dispatch)\b",
)
_NEWSLETTER_MAX_CHARS = 300
_CREDIT_LINE = re.compile(
    r"^\W{0,2}(?:(?:additional|extra)\s+)?(?:reporting|writing|editing|edited|compiled"
    r"|research|translated|production|graphics|fact[\s-]checking|translation)\s+by\b"
    r"|\bcontributed\s+(?:reporting\s+)?to\s+this\s+(?:report|story|article)\b"
    r"|^\(?\s*avec\s+(?:afp|reuters|ap|ats)\s*\)?\s*$",
    re.IGNORECASE,
)
_CREDIT_MAX_CHARS = 300
#: "Source: Meridian Press Agency (MPA)": a short attribution line, not a sentence that
#: happens to start with "Sources:".
_SOURCE_LINE = re.compile(r"^\W{0,2}(?:sources?|quelle|fuente|fonte|المصدر)\s*:\s*\S", re.I)
_SOURCE_MAX_CHARS = 100
_NOTICE = re.compile(
    r"\b(?:we|this\s+(?:site|website))\s+uses?\s+cookies\b|\baccept\s+(?:all\s+)?cookies\b"
    r"|\bcookie\s+(?:policy|settings|preferences)\b|^(?:©|\(c\)|copyright\s*(?:©|\(c\))?\s*\d{4})"
    r"|\ball\s+rights\s+reserved\b|\btous\s+droits\s+réservés\b|جميع\s+الحقوق\s+محفوظة"
    r"|\balle\s+rechte\s+vorbehalten\b|\btodos\s+los\s+derechos\s+reservados\b"
    r"|\btutti\s+i\s+diritti\s+riservati\b|\bwszelkie\s+prawa\s+zastrzeżone\b"
    r"|\bchroniony\s+prawem\s+autorskim\b|\balle\s+angaben\s+ohne\s+gewähr\b"
    r"|\baffiliate[\s-]links?\b.{0,40}$|\brss[\s-]feed\s+abonnieren\b"
    r"|\bcomments\s+are\s+moderated\b|^\d[\d,.]*\s+(?:comments?|commentaires?|تعليقات?)\b"
    r"|\bcommentaires\s+sont\s+modérés\b|التعليقات\s+تخضع"
    r"|^(?:our|editorial)\s+standards\s*:|^the\s+trust\s+principles\b"
    r"|^purchase\s+licensing\s+rights\b",
    re.IGNORECASE,
)
#: Cookie banners in any wording: "cookie" next to the vocabulary of consent.
_COOKIE = re.compile(r"\bcookies?\b", re.IGNORECASE)
_CONSENT = re.compile(
    r"\b(?:accept|consent|agree|partners?|preferences|settings|policy|privacy|accord"
    r"|partenaires|préférences|paramètres|politique|consentement|datenschutz|einwilligung)",
    re.IGNORECASE,
)
#: "Nadim Haddad is The Levant Review's Beirut correspondent.": the author's bio line that
#: closes many articles. Only looked for in the last lines of the text.
_AUTHOR_BIO = re.compile(
    r"^(?:[A-Z][\w'’.-]+\s+){1,3}(?:is\s.{0,120}\b(?:correspondent|reporter|editor|writer"
    r"|journalist|columnist|contributor|bureau\s+chief|(?:senior\s+|non-resident\s+)?fellow)\b"
    r"|(?:covers|writes\s+(?:about|on)|reports\s+(?:on|from))\s.{0,160}\bfor\s+(?:the\s+)?[A-Z])",
)
_AUTHOR_BIO_MAX_CHARS = 300
_BIO_TAIL_LINES = 2
_NOTICE_MAX_CHARS = 500
_UI_LINES = frozenset({
    "advertisement", "advertising", "sponsored", "sponsored content", "skip advertisement",
    "scroll to continue with content", "story continues below advertisement",
    "continue reading", "share", "share this article", "share this story", "print", "email",
    "copy link", "comments", "view comments", "show comments", "join the conversation",
    "publicité", "إعلان", "newsletter", "sign up", "subscribe",
    "anzeige", "werbung", "teilen", "teilen mit", "teilen sie dies mit", "drucken",
    "kommentare", "kommentieren", "weiterlesen", "mehr anzeigen", "bild anzeigen",
    "wird geladen", "zum artikel", "artikel teilen", "reklama", "udostępnij", "publicidad",
    "compartir", "comparte", "pubblicità", "condividi", "partager", "imprimer", "delen",
    "advertentie", "bewerten", "tipp favorisieren", "gefällt mir",
})
_HEADING_MAX_WORDS = 6
#: A short line that only announces a list of links to other pages: "Weitere Themen",
#: "Empfohlene Beiträge", "Notas relacionadas". Whole-line matches only.
_LIST_HEADING = re.compile(
    r"^\W{0,3}(?:related\s+(?:stories|articles|posts|content|news)|more\s+(?:stories|news|from\s+\w+)"
    r"|recommended(?:\s+(?:stories|articles|for\s+you))?|you\s+may\s+also\s+like|popular\s+posts"
    r"|weitere\s+(?:themen|artikel(?:\s+zum\s+thema)?|beiträge|nachrichten|meldungen|news)"
    r"|(?:empfohlene|ähnliche|verwandte|beliebte)\s+(?:beiträge|artikel|themen)"
    r"|das\s+(?:thema\s+)?könnte\s+(?:dich|sie)\s+auch\s+interessieren|schon\s+gelesen"
    r"|auch\s+interessant|mehr\s+zum\s+thema(?:\s+auf\s+\S+)?|vorschau\s+auf\s+den\s+nächsten\s+artikel"
    r"|notas?\s+relacionadas?|noticias\s+relacionadas|más\s+sobre\s+.{1,40}|artículos\s+relacionados"
    r"|articles?\s+(?:liés|similaires)|à\s+lire\s+aussi|pour\s+lire\s+la\s+suite"
    r"|pour\s+accéder\s+en\s+illimité|powiązane\s+artykuły|polecane|zobacz\s+także"
    r"|articoli\s+correlati|gerelateerde\s+artikelen|temas|tags|schlagwörter|themen"
    r"|top[\s-]themen(?:\s+(?:bei|von|auf)\s+.{1,40})?|mehr\s+themen|zum\s+weiterlesen"
    r"|weitere\s+(?:aktuelle\s+)?(?:beiträge|artikel|themen)\s+(?:aus|zu|zum|von)\s+.{1,40}"
    r"|lesen\s+sie\s+auch(?:\s+.{1,40})?)"
    r"\W{0,3}$",
    re.IGNORECASE,
)
#: A line that is only a date (and perhaps a time): a dateline or a teaser's date, never
#: a sentence. Numeric forms and written months in several languages.
_DATE_ONLY = re.compile(
    r"^\W{0,3}(?:(?:(?:aktualisiert|veröffentlicht|erstellt)(?:\s+am)?|letzte\s+änderung"
    r"|stand|updated|published|last\s+(?:modified|updated))\s*:?\s*)?"
    r"(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2}|[^\W\d_]{3,12}\s+\d{4}"
    r"|\d{1,2}\.?\s+[^\W\d_]{3,12}\.?\s+\d{4}|[^\W\d_]{3,12}\.?\s+\d{1,2},?\s+\d{4})"
    r"(?:[,\s|]+(?:\d{1,2}[:.]\d{2}(?:\s*(?:uhr|h|am|pm))?))?\W{0,3}$",
    re.IGNORECASE,
)
#: "Sie sind nicht eingeloggt", "Du musst eingeloggt sein um Kommentare zu schreiben":
#: account and comment prompts, German and English.
_ACCOUNT_PROMPT = re.compile(
    r"\b(?:nicht\s+eingeloggt|eingeloggt\s+sein|angemeldet\s+sein\b.{0,40}\bkommentar"
    r"|must\s+be\s+logged\s+in|log\s+in\s+to\s+(?:comment|reply)|keine\s+kommentare"
    r"|kommentare\s+insgesamt|mit\s+der\s+registrierung\s+akzeptieren"
    r"|^video\s+verfügbar\s+bis\b|\b(?:klicken\s+sie|click)\b.{0,60}\b(?:inhalt|content)\b"
    r".{0,40}\b(?:zu\s+laden|laden|load)\b)",
    re.IGNORECASE,
)


#: Words without which a rule cannot match: checked with ``in`` on the lower-cased line
#: (C speed) before the rule's regular expression runs. Most lines have none of them.
_NEWSLETTER_KEYS = (
    "sign", "subscri", "inbox", "e-mail", "email", "inscri", "abonn", "désinscri",
    "lettre", "newsletter", "suscr", "boîte", "النشرة", "باشتراكك",
)
_NOTICE_KEYS = (
    "cookie", "©", "(c)", "copyright", "rights", "droits", "الحقوق", "comment", "standards",
    "trust principles", "licensing", "rechte", "derechos", "diritti", "prawa", "prawem",
    "gewähr", "تعليق", "التعليقات", "affiliate", "rss",
)
_ACCOUNT_KEYS = (
    "eingeloggt", "angemeldet", "logged", "log in", "kommentar", "registrierung",
    "verfügbar", "klicken", "click",
)


def _has_any(lower: str, keys: tuple[str, ...]) -> bool:
    return any(key in lower for key in keys)


def _line_kind(line: str) -> str | None:
    """Why a line is boilerplate, or None when it is article text."""
    text = line.strip()
    if not text:
        return "empty"
    if text.lower().strip(" .:!") in _UI_LINES:
        return "ui"
    size = len(text)
    if size <= 250 and _LEAD_WORDS.match(text):
        return "link_line"
    if size <= 80 and _LIST_HEADING.match(text):
        return "link_line"
    if size <= 60 and _DATE_ONLY.match(text):
        return "date_line"
    if size <= 200 and _has_any(text.lower(), _ACCOUNT_KEYS) and _ACCOUNT_PROMPT.search(text):
        return "ui"
    if (size <= _CREDIT_MAX_CHARS and _CREDIT_LINE.search(text)) or (
        size <= _SOURCE_MAX_CHARS and _SOURCE_LINE.match(text)
    ):
        return "credit"
    lower = text.lower()
    if size <= _NEWSLETTER_MAX_CHARS and (
        (_has_any(lower, _NEWSLETTER_KEYS) and _NEWSLETTER.search(text))
        or (_has_any(lower, ("every",)) and _NEWSLETTER_PITCH.search(text)
            and _NEWSLETTER_PRODUCT.search(text))
    ):
        return "newsletter"
    if size <= _NOTICE_MAX_CHARS and _has_any(lower, _NOTICE_KEYS) and (
        _NOTICE.search(text) or (_COOKIE.search(text) and _CONSENT.search(text))
    ):
        return "notice"
    if size <= _CAPTION_MAX_CHARS and _CAPTION_HINT.search(text) and any(
        p.search(text) for p in _CAPTION_PATTERNS
    ):
        return "caption"
    return None


def _is_heading_like(line: str) -> bool:
    text = line.strip()
    return 0 < word_count(text) <= _HEADING_MAX_WORDS and text[-1] not in ".!?:;\"”»'’)"


def filter_lines(lines: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Drop boilerplate lines; return the kept lines and (kind, line) of the dropped ones.

    A short title line right before a dropped newsletter pitch ("Stay informed", "Middle
    East Briefing") goes with it: it is that box's heading. (Not before an "Advertisement"
    line: ad slots sit between a subheading and its paragraph.) An author bio is only
    recognised among the last lines, where articles put it.
    """
    items = [(line, _line_kind(line)) for line in lines]
    kinds: list[str | None] = [kind for _, kind in items]
    content = [i for i, kind in enumerate(kinds) if kind is None]
    for i in content[-_BIO_TAIL_LINES:]:
        text = items[i][0].strip()
        if len(text) <= _AUTHOR_BIO_MAX_CHARS and _AUTHOR_BIO.match(text):
            kinds[i] = "author_bio"
    for i in range(len(items) - 1):
        if kinds[i] is None and kinds[i + 1] == "newsletter" and (
            _is_heading_like(items[i][0])
        ):
            kinds[i] = "box_heading"
    kept = [line.strip() for (line, _), kind in zip(items, kinds, strict=True) if kind is None]
    dropped = [
        (kind, line.strip()) for (line, _), kind in zip(items, kinds, strict=True)
        if kind not in (None, "empty")
    ]
    return kept, dropped


#: A repeated line is boilerplate (a pull quote, a sticky teaser repeating a paragraph)
#: only when it is a sentence of this many words at least; shorter repeats are the page's
#: own structure (recipe steps, table cells, "1 EL Zucker", a chorus) and stay.
REPEAT_MIN_WORDS = 12
#: The line rules never take more than this share of the extracted text: past it they
#: misread the page (a bulletin that is all "Source:" lines), and the unfiltered text wins.
RULES_MAX_SHARE = 0.5


def dedupe(lines: list[str]) -> list[str]:
    """Drop repeats of long lines (see REPEAT_MIN_WORDS); every other line is kept."""
    seen: set[str] = set()
    kept = []
    for line in lines:
        key = line.lower()
        if key in seen:
            continue
        if word_count(line) >= REPEAT_MIN_WORDS:
            seen.add(key)
        kept.append(line)
    return kept


def clean_paragraphs(
    text: str, rules: bool, furniture: set[int] | None = None,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Extractor text (one block a line) to clean paragraphs.

    ``furniture``: indices (into the non-empty folded lines) that the markup marks as page
    furniture (:func:`sitrep.clean.prune.boilerplate_lines`). When the rules would remove
    more than RULES_MAX_SHARE of the text, they are not applied: losing the article is
    worse than keeping a few boilerplate lines.
    """
    lines = fold_lines(text)
    if not rules:
        return dedupe(lines), []
    marked = furniture or set()
    kept_rules, dropped = filter_lines(
        ["" if i in marked else line for i, line in enumerate(lines)],
    )
    dropped = [("furniture", lines[i]) for i in sorted(marked)] + dropped
    total = sum(len(line) for line in lines)
    if total and sum(len(line) for line in kept_rules) < (1 - RULES_MAX_SHARE) * total:
        return dedupe(lines), []
    return dedupe(kept_rules), dropped
