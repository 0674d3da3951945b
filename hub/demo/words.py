"""The demo's words: first names and surnames, what discoverers note per compass area,
what children and guardians say, the plan's goals and actions, and agencies' summaries.

Written in the forms' Swedish, as staff would write them.
"""

from __future__ import annotations

from contracts.vocabulary import Area, UnitKind

GIRLS = (
    "Alice", "Maja", "Elsa", "Astrid", "Wilma", "Freja", "Olivia", "Selma", "Alma", "Ella", "Ebba", "Saga", "Vera",
    "Agnes", "Stella", "Signe", "Clara", "Ellen", "Ines", "Lilly", "Juni", "Nora", "Leah", "Amira", "Noor", "Hanna",
    "Linnea", "Tyra", "Isabelle", "Matilda",
)
BOYS = (
    "William", "Noah", "Hugo", "Lucas", "Liam", "Oliver", "Adam", "Matteo", "Elias", "Nils", "Leo", "Alexander",
    "Theo", "Viktor", "Ludvig", "Oscar", "Axel", "Vincent", "Isak", "Sixten", "Omar", "Yusuf", "Melvin", "Albin",
    "Edvin", "Charlie", "Sam", "Malte", "Gustav", "Ali",
)
WOMEN = (
    "Anna", "Maria", "Sara", "Emma", "Johanna", "Karin", "Jenny", "Linda", "Sofia", "Malin", "Elin", "Frida",
    "Hanna", "Therese", "Camilla", "Jessica", "Amanda", "Lina", "Fatima", "Petra",
)
MEN = (
    "Johan", "Erik", "Anders", "Daniel", "Fredrik", "Andreas", "Marcus", "Peter", "Mikael", "Martin", "Jonas",
    "Niklas", "Christoffer", "Magnus", "Mattias", "Ahmed", "Patrik", "Robin", "Henrik", "Sebastian",
)
SURNAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson",
    "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson", "Lindberg", "Jakobsson",
    "Magnusson", "Lindström", "Olofsson", "Lindqvist", "Lindgren", "Axelsson", "Berg", "Bergström", "Lundberg",
    "Lundgren", "Mattsson", "Håkansson", "Nordström", "Sjöberg", "Holm", "Ali", "Hassan", "Mohammadi", "Nyberg",
    "Åberg", "Blom", "Ekström",
)

AREA_NOTES: dict[Area, tuple[str, ...]] = {
    Area.TRYGGHET: (
        "Berättar att det är mycket bråk hemma på kvällarna.",
        "Otrygg på rasterna, håller sig nära vuxna.",
        "Vill inte gå hem efter skoldagen.",
        "Har varit med om en händelse i närmiljön som oroar.",
    ),
    Area.HALSA: (
        "Ofta trött och har ont i magen.",
        "Berättar om sömnproblem och mycket oro.",
        "Har missat flera kallelser till tandvården.",
        "Har gått ner i vikt under terminen.",
    ),
    Area.UTVECKLAS: (
        "Språket utvecklas långsammare än hos jämnåriga.",
        "Svårt att följa instruktioner i grupp.",
        "Når inte målen i flera ämnen.",
        "Motoriken behöver stöd.",
    ),
    Area.OMVARDAD: (
        "Kommer ofta utan mat och ombyteskläder.",
        "Hämtas sent och ser mycket trött ut.",
        "Familjen har flyttat flera gånger under året.",
        "Vårdnadshavaren säger att hen inte orkar just nu.",
    ),
    Area.FRITID: (
        "Har slutat på fotbollen och gör lite efter skolan.",
        "Sitter mycket ensam med skärm på fritiden.",
        "Saknar aktiviteter efter skoltid.",
    ),
    Area.RESPEKTERAS: (
        "Upplever att ingen lyssnar på hen.",
        "Blir retad av klasskamrater.",
        "Hamnar utanför i leken.",
    ),
    Area.ANSVARSTAGANDE: (
        "Hög frånvaro de senaste veckorna.",
        "Svårt att ta ansvar för skoluppgifter.",
        "Hamnar ofta i konflikter med vuxna.",
    ),
    Area.TILLHORIGHET: (
        "Har få kamrater och känner sig ensam.",
        "Nyinflyttad, familjen saknar nätverk här.",
        "Säger att ingen bryr sig om hen.",
    ),
}

CHILD_VIEWS: dict[Area, tuple[str, ...]] = {
    Area.TRYGGHET: ("Jag vill att en vuxen ser mig på rasten.", "Det är jobbigt hemma ibland när de bråkar."),
    Area.HALSA: ("Jag sover dåligt och har ont i magen.", "Jag är trött hela tiden."),
    Area.UTVECKLAS: ("Det är svårt att hänga med på lektionerna.", "Jag vill bli bättre på att läsa."),
    Area.OMVARDAD: ("Ibland finns det ingen frukost.", "Mamma är ledsen och trött."),
    Area.FRITID: ("Jag vill börja på något efter skolan.", "Jag saknar fotbollen."),
    Area.RESPEKTERAS: ("Ingen lyssnar när jag säger något.", "De andra skrattar åt mig."),
    Area.ANSVARSTAGANDE: ("Jag orkar inte gå till skolan.", "Jag blir arg och vet inte varför."),
    Area.TILLHORIGHET: ("Jag har ingen att vara med.", "Jag vill ha en kompis i klassen."),
}

GUARDIAN_VIEWS: dict[Area, tuple[str, ...]] = {
    Area.TRYGGHET: ("Vi är oroliga för hur hen har det på rasterna.", "Det har varit en orolig tid hemma."),
    Area.HALSA: ("Hen sover dåligt och klagar på magont.", "Vi har svårt att få tid hos vården."),
    Area.UTVECKLAS: ("Vi har också sett att språket dröjer.", "Vi vill ha hjälp med läxorna."),
    Area.OMVARDAD: ("Vi har det tufft ekonomiskt just nu.", "Vi behöver stöd i vardagen."),
    Area.FRITID: ("Hen har tappat lusten för fritidsaktiviteter.", "Vi har svårt att skjutsa till aktiviteter."),
    Area.RESPEKTERAS: ("Hen känner sig inte sedd i skolan.", "Hen kommer hem ledsen."),
    Area.ANSVARSTAGANDE: ("Morgnarna är en kamp.", "Vi vet inte hur vi ska få hen till skolan."),
    Area.TILLHORIGHET: ("Vi känner ingen här än.", "Hen har inga kompisar hemma."),
}

GOALS: dict[Area, str] = {
    Area.TRYGGHET: "Känna sig trygg hemma, i skolan och på vägen mellan.",
    Area.HALSA: "Sova bättre och må bättre i kroppen.",
    Area.UTVECKLAS: "Utvecklas i egen takt med rätt stöd.",
    Area.OMVARDAD: "Få mat, vila och omsorg efter sina behov varje dag.",
    Area.FRITID: "Ha en fritidsaktivitet varje vecka.",
    Area.RESPEKTERAS: "Bli lyssnad på och vara med när beslut tas.",
    Area.ANSVARSTAGANDE: "Vara i skolan varje dag och klara skoluppgifterna.",
    Area.TILLHORIGHET: "Ha minst en kompis och en trygg vuxen i vardagen.",
}

ACTIONS_BY_KIND: dict[UnitKind, tuple[str, ...]] = {
    UnitKind.SCHOOL: ("Anpassningar i klassrummet och veckovis avstämning med mentor", "Rastvärd och trygg vuxen på rasterna", "Anpassad studiegång i två ämnen"),
    UnitKind.PRESCHOOL: ("Extra stöd i språkutvecklingen i barngruppen", "Trygg vuxen vid lämning och hämtning", "Bildstöd i vardagen"),
    UnitKind.BVC: ("Tätare besök på BVC", "Stöd kring sömn och måltider"),
    UnitKind.PUPIL_HEALTH: ("Stödsamtal med kurator varannan vecka", "Hälsosamtal med skolsköterskan"),
    UnitKind.SOCIAL_SERVICES: ("Föräldrastödsprogram för vårdnadshavarna", "Familjebehandlare på hembesök"),
    UnitKind.FIRST_LINE_PSYCHIATRY: ("Samtalsbehandling, fem tillfällen", "Kartläggning av oro och sömn"),
    UnitKind.BUP: ("Bedömning och behandling av ångest", "Uppföljande läkarbesök"),
    UnitKind.HAB: ("Bedömning av behov av hjälpmedel", "Föräldrautbildning om barnets funktionsnedsättning"),
    UnitKind.POLICE: ("Orosamtal med barn och vårdnadshavare (SSPF)",),
    UnitKind.YOUTH_CENTRE: ("Plats i fritidsverksamheten på Ungdomens hus", "Läxhjälp på Ungdomens hus"),
}

SUMMARIES = {
    "health": ("Barnet har kontakt med oss för oro och sömnsvårigheter; behandling pågår.", "Utredning klar; rekommenderar anpassningar i skolan."),
    "police": ("Barnet har förekommit i ärende som rör bråk i centrum; inga misstankar mot barnet.", "Orosamtal har hållits med barn och vårdnadshavare."),
    "social_services": ("Familjen har beviljats föräldrastöd.", "Utredning pågår; familjen samarbetar."),
}

FOCUS_WEIGHTS = {
    Area.TRYGGHET: 5, Area.HALSA: 4, Area.UTVECKLAS: 4, Area.OMVARDAD: 3,
    Area.FRITID: 2, Area.RESPEKTERAS: 3, Area.ANSVARSTAGANDE: 4, Area.TILLHORIGHET: 3,
}

SEVERE = ("krimin", "heders")

PURPOSES = (
    "Barnteam kring barnets trygghet och skolgång",
    "Samordnat stöd till barnet och familjen",
    "Gemensam bedömning av barnets behov i Barnteam",
)
