"""The whole support process through the web pages only, in a real headless Chromium.

Each person has a browser of their own (own cookies): a teacher discovers Alva and sends a
discovery card; the principal, her school's Barnkontakt, takes the role, answers the
teacher, talks with Alva, decides on an individual team and asks for consent; both
guardians (one on a phone) say yes; the school and pupil health rate her needs and the
Barnkontakt records the team meeting and writes Barnets plan. A guardian then sees who
has read the information, with proof, and takes the consent back with one action: pupil
health sees nothing more of her, and a consent page opened before the withdrawal gets a
clear answer. An auditor finds the reads and records a finding; the administrator sees
the follow-up figures. Every page shown is screenshotted and checked with axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from contracts.indicators import INDICATORS, Indicator
from contracts.vocabulary import COMPASS, FIVE_QUESTIONS_SV, Area
from hub.web.filters import format_day
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR

CHILD = "Alva Lind"
GUARDIAN_1 = "Anna Lind"
GUARDIAN_2 = "Bo Lind"
SAFETY = COMPASS[Area.TRYGGHET]
HEALTH = COMPASS[Area.HALSA]
PURPOSE = "Individuellt barnteam kring rasterna"
FEEDBACK = "Barnkontakt utsedd, samtal med Alva bokas"
ACTION = "Vuxen ute på rasterna"
GOAL = "Känna sig trygg på rasterna"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def sign_in_staff(browser: Browser, hub: ServedHub, name: str, *, phone: bool = False) -> Page:
    page = new_page(browser, phone=phone)
    page.goto(hub.url + "/sign-in")
    page.get_by_role("button", name=name).click()
    return page


def sign_in_guardian(browser: Browser, hub: ServedHub, personnummer: str, *, phone: bool = False) -> Page:
    page = new_page(browser, phone=phone)
    page.goto(hub.url + "/sign-in")
    page.get_by_label("Personnummer").fill(personnummer)
    page.get_by_label("Jag är vårdnadshavare").check()
    page.get_by_role("button", name="Logga in", exact=True).click()
    expect(page).to_have_url(hub.url + "/family")
    return page


def a_minute_later(hub: ServedHub) -> None:
    """The hub's clock stands still unless moved: each person's turn comes a minute later
    (well within the sessions' idle time), so the steps and reads have times in order."""
    hub.clock.set(hub.clock() + timedelta(minutes=1))


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def region(page: Page, name: str) -> Locator:
    return page.get_by_role("region", name=name)


def test_one_child_through_the_whole_process_in_the_browser(hub: ServedHub, browser: Browser) -> None:
    shots = Shots("full-process")
    today = hub.clock().date()

    # 1. The teacher registers Alva and sends a discovery card to the school's Barnkontakt.
    teacher = sign_in_staff(browser, hub, "Larare Ostra")
    expect(teacher).to_have_url(hub.url + "/staff")
    expect(heading(teacher)).to_have_text("Start")
    shots.visit(teacher, "teacher-start")
    teacher.get_by_role("link", name="Registrera ett barn").first.click()
    expect(heading(teacher)).to_have_text("Registrera ett barn")
    child_part = teacher.get_by_role("group", name="Barnet", exact=True)
    child_part.get_by_label("Personnummer").fill(CHILD_PNR)
    child_part.get_by_label("Förnamn").fill("Alva")
    child_part.get_by_label("Efternamn").fill("Lind")
    for slot, (name, number) in enumerate(((GUARDIAN_1, GUARDIAN_1_PNR), (GUARDIAN_2, GUARDIAN_2_PNR)), start=1):
        part = teacher.get_by_role("group", name=f"Vårdnadshavare {slot}", exact=True)
        part.get_by_label("Namn", exact=True).fill(name)
        part.get_by_label("Personnummer").fill(number)
        part.get_by_role("group", name="Har vårdnaden om barnet").get_by_label("Ja", exact=True).check()
    shots.visit(teacher, "register-child")
    teacher.get_by_role("button", name="Registrera och gå vidare till kortet").click()

    expect(heading(teacher)).to_have_text("Upptäckarkort: nytt kort")
    expect(teacher.get_by_role("status")).to_have_text("Barnet är registrerat. Fyll nu i Upptäckarkortet.")
    child_id = parse_qs(urlparse(teacher.url).query)["child_id"][0]
    teacher.get_by_role("button", name="Skicka Upptäckarkortet").click()  # nothing filled in yet
    expect(heading(teacher)).to_have_text("Upptäckarkort: nytt kort")
    expect(teacher.get_by_role("alert")).to_be_visible()
    shots.visit(teacher, "discovery-card-errors")
    safety = teacher.get_by_role("group", name=SAFETY.label_sv, exact=True)
    safety.get_by_label(SAFETY.need_statements_sv[1]).check()
    safety.get_by_label(f"Anteckning om {SAFETY.label_sv}").fill("Ensam och orolig på rasterna")
    for question, answer in zip(
        FIVE_QUESTIONS_SV,
        ("Trygghet på rasterna", "Nej, jag behöver höra Alva", "Vårdnadshavarna är oroliga", "Extra vuxen på rasten", "Elevhälsan"),
        strict=True,
    ):
        teacher.get_by_label(question).fill(answer)
    teacher.get_by_role("group", name="Har vårdnadshavarna fått veta om kortet?").get_by_label("Ja", exact=True).check()
    teacher.get_by_label("Verksamheten vars Barnkontakt tar emot kortet").select_option("skola-ostra")
    shots.visit(teacher, "discovery-card")
    teacher.get_by_role("button", name="Skicka Upptäckarkortet").click()

    expect(heading(teacher)).to_have_text("Upptäckarkortet är skickat")
    expect(teacher.get_by_role("status")).to_contain_text("Ditt kort gick till Barnkontakten på Skola Ostra.")
    expect(teacher.get_by_role("status")).to_contain_text("Barnkontakt där: Rektor Ostra.")
    shots.visit(teacher, "card-sent")

    # 2. The Barnkontakt finds the new card, takes the role and takes the first steps.
    a_minute_later(hub)
    bk = sign_in_staff(browser, hub, "Rektor Ostra")
    expect(heading(bk)).to_have_text("Ärenden")
    bk.get_by_role("navigation", name="Det som behöver göras").get_by_role("link", name=re.compile("^Nya Upptäckarkort")).click()
    new_cards = bk.locator("table.case-rows")
    expect(new_cards.get_by_role("link", name=CHILD)).to_be_visible()
    shots.visit(bk, "cases")
    new_cards.get_by_role("link", name=CHILD).click()
    expect(heading(bk)).to_have_text(CHILD)
    expect(bk.locator("dl.facts")).to_contain_text("Inte utsedd ännu")
    shots.visit(bk, "child-before-barnkontakt")

    child_url = f"{hub.url}/staff/children/{child_id}"
    bk.goto(child_url + "/barnkontakt")  # the child's page links the role only once a Barnkontakt is assigned
    expect(heading(bk)).to_have_text("Barnkontakt för barnet")
    expect(bk.get_by_label("Rektor Ostra (du)")).to_be_checked()
    shots.visit(bk, "barnkontakt-role")
    bk.get_by_role("button", name="Utse").click()
    expect(heading(bk)).to_have_text("Du är Barnkontakt för barnet")
    expect(bk.get_by_role("status")).to_contain_text("Rollen är registrerad.")
    shots.visit(bk, "barnkontakt-taken")
    bk.get_by_role("link", name="Tillbaka till barnet").click()
    expect(bk).to_have_url(child_url)
    expect(bk.locator("dl.facts")).to_contain_text("Rektor Ostra, Skola Ostra")
    steps = region(bk, "Att göra")
    shots.visit(bk, "child-with-barnkontakt")

    steps.get_by_role("link", name=re.compile("^Återkoppling på upptäckarkortet från Skola Ostra")).click()
    expect(heading(bk)).to_have_text("Återkoppling till upptäckaren")
    bk.get_by_label("Ditt meddelande").fill(FEEDBACK)
    shots.visit(bk, "feedback")
    bk.get_by_role("button", name="Skicka återkoppling").click()
    expect(heading(bk)).to_have_text("Återkopplingen är skickad")
    bk.get_by_role("link", name="Tillbaka till barnet").click()
    expect(bk).to_have_url(child_url)
    teacher.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Mina kort").click()
    expect(heading(teacher)).to_have_text("Mina kort")
    expect(teacher.get_by_text(FEEDBACK)).to_be_visible()
    shots.visit(teacher, "my-cards")
    teacher.goto(hub.url + "/audit")
    expect(teacher.get_by_role("alert")).to_be_visible()
    shots.visit(teacher, "not-permitted")

    steps.get_by_role("link", name="Registrera ett samtal").click()
    expect(heading(bk)).to_have_text("Samtal med barnet eller en vårdnadshavare")
    expect(bk.get_by_text("Barnet är i åldersgruppen 10-12 år.")).to_be_visible()
    expect(bk.get_by_text("Gå igenom kompassens områden tillsammans: var känns det bra, och var inte?")).to_be_visible()
    expect(bk.get_by_label("barnet (Barnsamtal)")).to_be_checked()
    bk.get_by_label(SAFETY.label_sv, exact=True).fill("Rasterna är jobbiga, ingen att vara med")
    bk.get_by_label("Sammanfattning av samtalet").fill("Barnsamtal enligt samtalsunderlaget")
    shots.visit(bk, "conversation")
    bk.get_by_role("button", name="Spara samtalet").click()
    expect(bk).to_have_url(child_url)

    steps.get_by_role("link", name="Besluta om stöd eller team").click()
    expect(heading(bk)).to_have_text("Beslut efter samtalet")
    bk.get_by_label("Individuellt barnteam").check()
    bk.get_by_label("Barnet och vårdnadshavarna har fått veta vad som kommer att delas").check()
    team_units = bk.get_by_role("group", name="Verksamheter i teamet")
    expect(team_units.get_by_label("Skola Ostra", exact=True)).to_be_checked()
    team_units.get_by_label("Elevhalsa Ostra", exact=True).check()
    bk.get_by_label("Varför detta beslut").fill("Behov i skolan och av samtalsstöd")
    shots.visit(bk, "decision")
    bk.get_by_role("button", name="Registrera beslutet").click()
    expect(bk).to_have_url(child_url)
    expect(bk.locator("dl.facts")).to_contain_text("Individuellt barnteam")
    expect(bk.locator("dl.facts")).to_contain_text("Elevhalsa Ostra")

    steps.get_by_role("link", name="Begär samtycke").click()
    expect(heading(bk)).to_have_text("Be familjen om samtycke")
    recipients = bk.get_by_role("group", name="Vem som får ta emot uppgifterna")
    expect(recipients.get_by_label("Elevhalsa Ostra (i teamet)", exact=True)).to_be_checked()  # from the decision
    expect(recipients.get_by_label("Skola Ostra (din enhet)", exact=True)).to_be_checked()
    shared = bk.get_by_role("group", name="Vad som får delas")
    for category in ("Identitet", "Behov", "Team och kort", "Samtal", "Skattningar", "Barnets plan"):
        shared.get_by_label(category, exact=True).check()
    bk.get_by_label("Varför uppgifterna ska delas").fill(PURPOSE)
    shots.visit(bk, "consent-request")
    bk.get_by_role("button", name="Skicka begäran").click()
    expect(heading(bk)).to_have_text("Begäran om samtycke är skickad")
    bk.get_by_role("link", name="Tillbaka till barnet").click()
    expect(bk).to_have_url(child_url)

    # 3. Both guardians answer on their own pages; the second one on a phone.
    a_minute_later(hub)
    g1 = sign_in_guardian(browser, hub, GUARDIAN_1_PNR)
    expect(heading(g1)).to_have_text("Mina barn")
    shots.visit(g1, "family-children")
    g1.get_by_role("link", name=CHILD, exact=True).click()
    expect(heading(g1)).to_have_text(CHILD)
    expect(g1.locator("main")).to_contain_text("Rektor Ostra")
    shots.visit(g1, "family-child")
    g1.go_back()
    g1.get_by_role("link", name=f"Frågor om samtycke – {CHILD}").click()
    expect(heading(g1)).to_have_text(f"Frågor om samtycke: {CHILD}")
    request = region(g1, f"Fråga: {PURPOSE}")
    expect(request).to_contain_text("Väntar på svar")
    expect(request).to_contain_text("Elevhalsa Ostra")
    shots.visit(g1, "consents-before")
    request.get_by_role("button", name=re.compile("^Ja, jag samtycker")).click()
    expect(g1.get_by_role("status")).to_have_text("Tack. Ditt ja är sparat.")
    expect(request).to_contain_text(f"Väntar fortfarande på: {GUARDIAN_2}")

    g2 = sign_in_guardian(browser, hub, GUARDIAN_2_PNR, phone=True)
    g2.get_by_role("link", name=f"Frågor om samtycke – {CHILD}").click()
    request2 = region(g2, f"Fråga: {PURPOSE}")
    expect(request2).to_contain_text(f"{GUARDIAN_1} (Vårdnadshavare): har sagt ja")
    shots.visit(g2, "consents-phone")
    request2.get_by_role("button", name=re.compile("^Ja, jag samtycker")).click()
    expect(g2.get_by_role("status")).to_have_text("Tack. Ditt ja är sparat.")
    expect(request2).to_contain_text("Gäller")
    expect(request2).to_contain_text("Du (Vårdnadshavare): har sagt ja")
    expect(request2).to_contain_text(f"{GUARDIAN_1} (Vårdnadshavare): har sagt ja")
    shots.visit(g2, "consents-both-answered")
    # This page stays open as it is: its withdrawal form is used only after the consent is gone.
    receipt = g2.context.new_page()
    receipt.goto(hub.url + str(request2.get_by_role("link", name=re.compile("^Kvitto att skriva ut eller spara")).get_attribute("href")))
    expect(heading(receipt)).to_have_text("Kvitto på samtycke")
    expect(receipt.locator("article")).to_contain_text(CHILD)
    expect(receipt.locator("article")).to_contain_text(PURPOSE)
    shots.visit(receipt, "consent-receipt")

    # 4. The team rates; pupil health sees Alva through the consent; the meeting draws the joint compass.
    a_minute_later(hub)
    bk.get_by_role("link", name="Skattningsformulär").click()
    expect(heading(bk)).to_have_text("Skattningsformulär")
    bk.get_by_role("group", name=INDICATORS[Indicator.TRYGGHET_HEMMA].statement_sv).get_by_label("4", exact=True).check()
    bk.get_by_role("group", name=INDICATORS[Indicator.HALSA_PSYKISK].statement_sv).get_by_label("2", exact=True).check()
    shots.visit(bk, "rating-school")
    bk.get_by_role("button", name="Skicka skattningen").click()
    expect(bk.get_by_role("status")).to_have_text("Tack, din skattning är registrerad.")

    health = sign_in_staff(browser, hub, "Kurator Ostra")
    expect(heading(health)).to_have_text("Ärenden")
    shots.visit(health, "cases-pupil-health")
    health.goto(child_url)  # no page lists the child for a team unit: its address comes from the Barnkontakt
    expect(heading(health)).to_have_text(CHILD)
    record = region(health, "Det du får se av journalen")
    expect(record).to_contain_text("Samtycke")
    expect(record).to_contain_text("Rasterna är jobbiga, ingen att vara med")
    shots.visit(health, "child-pupil-health")
    health.get_by_role("link", name="Skattningsformulär").click()
    health.get_by_role("group", name=INDICATORS[Indicator.TRYGGHET_HEMMA].statement_sv).get_by_label("2", exact=True).check()
    health.get_by_role("group", name=INDICATORS[Indicator.HALSA_PSYKISK].statement_sv).get_by_label("5", exact=True).check()
    shots.visit(health, "rating-pupil-health")
    health.get_by_role("button", name="Skicka skattningen").click()
    expect(health.get_by_role("status")).to_have_text("Tack, din skattning är registrerad.")

    bk.goto(child_url + "/compass")
    expect(heading(bk)).to_have_text("Den gemensamma Behovskompassen")
    meeting = region(bk, "Registrera ett teammöte")
    meeting.get_by_label("Skola Ostra", exact=True).check()
    meeting.get_by_label("Elevhalsa Ostra", exact=True).check()
    meeting.get_by_label("Råd och vad som bestämdes").fill("Vuxen på rasterna och samtalsstöd")
    shots.visit(bk, "compass-before-meeting")
    meeting.get_by_role("button", name="Registrera mötet").click()
    expect(bk.get_by_role("status")).to_have_text("Teammötet är registrerat med sin gemensamma Behovskompass.")
    scores = bk.get_by_role("table", name="Skattning per område (1–5)")
    expect(scores.get_by_role("row", name=SAFETY.label_sv)).to_contain_text("3,0")  # (4 + 2) / 2
    expect(scores.get_by_role("row", name=HEALTH.label_sv)).to_contain_text("3,5")  # (2 + 5) / 2, with the Swedish decimal comma
    expect(scores.get_by_role("row", name="Fritid")).to_contain_text("Inte skattat")
    expect(bk.get_by_role("img", name=re.compile("^Behovskompass"))).to_be_visible()
    shots.visit(bk, "joint-compass")

    # 5. Barnets plan, the printable plan and the timeline.
    a_minute_later(hub)
    bk.get_by_role("link", name="Barnets plan").first.click()
    expect(heading(bk)).to_have_text(f"Barnets plan: {CHILD}")
    bk.get_by_role("group", name="Mål per område").get_by_label(SAFETY.label_sv, exact=True).fill(GOAL)
    action = bk.get_by_role("group", name="Ny insats (frivilligt)").first
    action.get_by_label("Vad").fill(ACTION)
    action.get_by_label("Verksamhet").select_option("skola-ostra")
    action.get_by_label("Ansvarig person").fill("Rektor Ostra")
    due = (today + timedelta(days=14)).isoformat()
    action.get_by_label("Senast när").fill(due)
    bk.get_by_label("Barnets syn").fill("Jag vill ha någon att vara med på rasten")
    shots.visit(bk, "plan-form")
    bk.get_by_role("button", name="Spara en ny version").click()
    expect(bk.get_by_role("status")).to_have_text("Planen är sparad som en ny version.")
    current = region(bk, "Den gällande planen")
    expect(current).to_contain_text(GOAL)
    actions = current.get_by_role("table", name="Insatser")
    expect(actions.get_by_role("row", name=re.compile(ACTION))).to_contain_text("Rektor Ostra, Skola Ostra")
    expect(actions.get_by_role("row", name=re.compile(ACTION))).to_contain_text(format_day(today + timedelta(days=14), "long"))
    shots.visit(bk, "plan")
    bk.get_by_role("link", name="Utskriftsvänlig plan").click()
    expect(heading(bk)).to_have_text(f"Barnets plan: {CHILD}")
    expect(bk.get_by_role("table", name="Insatser")).to_contain_text(ACTION)
    expect(bk.locator("dl.facts")).to_contain_text("Rektor Ostra, Skola Ostra")
    shots.visit(bk, "plan-print")

    bk.goto(child_url + "/timeline")
    expect(heading(bk)).to_have_text("Tidslinje")
    shown = bk.locator(".timeline-step .step-name").all_inner_texts()
    expected = [
        "Barnet registrerat", "Upptäckarkort", "Barnkontakt utsedd", "Återkoppling", "Samtal", "Beslut om stöd",
        "Samtycke begärt", "Skattning", "Barnteamsmöte", "Barnets plan",
    ]
    positions = [shown.index(step) for step in expected]
    assert positions == sorted(positions), shown
    shots.visit(bk, "timeline")

    on_phone = sign_in_staff(browser, hub, "Rektor Ostra", phone=True)
    on_phone.goto(child_url)
    next_step = on_phone.locator(".next-step")
    expect(next_step).to_contain_text(ACTION)
    expect(next_step).to_contain_text(format_day(today + timedelta(days=14), "long"))
    expect(region(on_phone, "Teamet runt barnet")).to_contain_text("Rektor Ostra, Skola Ostra")
    shots.visit(on_phone, "child-page-phone")
    on_phone.context.close()

    # 6. A guardian sees who has read the information, with proof, and withdraws the consent.
    a_minute_later(hub)
    g1.get_by_role("link", name="Vem har sett uppgifterna").click()
    expect(heading(g1)).to_have_text("Vem har sett mitt barns uppgifter")
    month = g1.locator("details.log-month").first
    expect(month).to_have_attribute("open", "")
    school = month.locator("details.log-unit", has=g1.locator("summary", has_text="Skola Ostra tittade på uppgifter om Alva Lind"))
    expect(school).to_have_count(1)
    expect(month.locator("summary", has_text="Elevhalsa Ostra tittade på uppgifter om Alva Lind")).to_have_count(1)
    school.locator("summary").click()
    expect(school.locator("ol.log-reads li").first).to_contain_text("Vad som gav rätt till det")
    expect(g1.locator("main")).not_to_contain_text("hashvärde")
    shots.visit(g1, "access-log")
    school.get_by_role("link", name=re.compile("^Kontrollera")).first.click()
    expect(heading(g1)).to_have_text("Kontrollera att läsningen finns i loggen")
    expect(g1.get_by_role("status")).to_contain_text("Kontrollerad.")
    shots.visit(g1, "access-log-verified")
    g1.get_by_role("link", name="Tillbaka till vem som har sett uppgifterna").click()
    shots.visit(g1, "access-log")
    g1.get_by_role("link", name="Frågor om samtycke").click()
    region(g1, f"Fråga: {PURPOSE}").get_by_role("link", name=re.compile("^Ta tillbaka samtycket")).click()
    expect(heading(g1)).to_have_text("Ta tillbaka samtycket?")
    shots.visit(g1, "consent-withdraw-confirm")
    g1.get_by_role("button", name="Ja, ta tillbaka samtycket").click()
    expect(g1.get_by_role("status")).to_have_text("Samtycket är taget tillbaka. Det gäller inte längre.")
    expect(region(g1, f"Fråga: {PURPOSE}")).to_contain_text("Tillbakataget")
    shots.visit(g1, "consent-withdrawn")

    # 7. Pupil health sees nothing more of Alva; the stale consent page is told so.
    a_minute_later(hub)
    health.goto(child_url)
    expect(heading(health)).to_have_text("Barnet")
    expect(health.get_by_text(CHILD)).to_have_count(0)
    expect(health.get_by_text("Rasterna är jobbiga, ingen att vara med")).to_have_count(0)
    record = region(health, "Det du får se av journalen")
    expect(record.get_by_role("heading", level=4)).to_have_text(["Trygghet", "Hälsa", "Skattning"])  # only its own rating is left
    expect(record.get_by_text("Grund: Samtycke")).to_have_count(0)
    expect(record.get_by_text("Grund: Egen dokumentation")).to_have_count(1)
    expect(health.get_by_role("alert")).to_contain_text("Vårdnadshavaren har återkallat samtycket den")
    shots.visit(health, "child-pupil-health-after-withdrawal")

    request2.get_by_role("link", name=re.compile("^Ta tillbaka samtycket")).click()
    expect(heading(g2)).to_have_text("Frågan går inte längre att svara på")
    expect(g2.get_by_role("alert")).to_contain_text("Samtycket har redan tagits tillbaka.")
    expect(g2.get_by_role("alert")).to_contain_text("Ingenting ändrades. Sidan du använde var inte längre aktuell.")
    shots.visit(g2, "stale-consent")

    # 8. The auditor finds the reads and records a finding; the administrator sees the figures.
    a_minute_later(hub)
    auditor = sign_in_staff(browser, hub, "Granskare Ystad")
    expect(heading(auditor)).to_have_text("Åtkomstlogg")
    auditor.get_by_label("Barn: namn eller personnummer").fill(CHILD)
    auditor.get_by_role("button", name="Sök i loggen").click()
    expect(auditor.get_by_role("heading", name=re.compile("^Läsningar som hittades: 1–[1-9]"))).to_be_visible()
    found = auditor.locator("ol.entries")
    expect(found.get_by_role("heading", name=re.compile(f"Rektor Ostra · {CHILD} · Tillåten")).first).to_be_visible()
    shots.visit(auditor, "audit-search")

    auditor.get_by_role("link", name="Loggkontroll").click()
    expect(heading(auditor)).to_have_text("Loggkontroll")
    auditor.get_by_label("Läsningar i stickprovet").fill("5")
    auditor.get_by_role("button", name="Dra stickprovet").click()
    sample = region(auditor, "Slumpmässigt stickprov")
    expect(sample).to_contain_text(re.compile(r"5 av \d+ läsningar"))
    finding = sample.locator("li.entry").first
    finding.get_by_label("Befogad", exact=True).check()
    finding.get_by_label("Anteckning").fill("Läsningen hör till Barnkontaktens uppdrag")
    shots.visit(auditor, "audit-review")
    finding.get_by_role("button", name="Registrera bedömningen").click()
    expect(auditor.get_by_role("status")).to_have_text("Bedömningen är registrerad.")
    expect(region(auditor, "Slumpmässigt stickprov").get_by_text("Granskad: Befogad")).to_be_visible()
    auditor.goto(hub.url + "/audit/reviews")
    expect(heading(auditor)).to_have_text("Registrerade bedömningar")
    expect(auditor.locator("main")).to_contain_text("Läsningen hör till Barnkontaktens uppdrag")
    shots.visit(auditor, "audit-reviews")

    auditor.get_by_role("link", name="Manipulationssäker logg").click()
    expect(heading(auditor)).to_have_text("Manipulationssäker logg")
    expect(auditor.get_by_role("status")).to_contain_text("Loggen stämmer:")
    shots.visit(auditor, "audit-checkpoint")

    admin = sign_in_staff(browser, hub, "Administratör Ystad")
    expect(heading(admin)).to_have_text("Uppföljning: Ystad")
    cards = region(admin, "Upptäckarkort")
    # one term, one card: a count of 1 is suppressed in the publishable figures everyone sees by default
    expect(cards.get_by_role("row", name="Interna").get_by_role("cell")).to_have_text([".."])
    shots.visit(admin, "follow-up")
    admin.get_by_label(re.compile("^Visa uppgifterna utan röjandeskydd")).check()
    admin.get_by_role("button", name="Visa siffrorna").click()
    cards = region(admin, "Upptäckarkort")
    expect(cards.get_by_role("row", name="Interna").get_by_role("cell")).to_have_text(["1"])  # the administrator's own view

    # the term report for the steering group: publishable figures only, whatever the administrator chose to see
    admin.get_by_role("link", name="Terminsrapport").click()
    expect(heading(admin)).to_contain_text("Terminsrapport")
    report = region(admin, "Upptäckarkort")
    expect(report.get_by_role("row", name="Interna").get_by_role("cell").first).to_have_text("..")
    expect(admin.get_by_role("link", name="Ladda ner terminsrapporten som PDF")).to_be_visible()
    shots.visit(admin, "term-report")
