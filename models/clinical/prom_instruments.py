"""Patient-reported questionnaires: the exact wording, answer options and LOINC codes.

Sources (wording copied as published; do not paraphrase — a changed word is a different,
unvalidated instrument):

- PHQ-9 and GAD-7: Spitzer, Williams, Kroenke and colleagues, developed with an educational
  grant from Pfizer Inc. "No permission required to reproduce, translate, display or
  distribute" (the instruments' own footer; phqscreeners.com). PHQ-9: Kroenke K, Spitzer RL,
  Williams JB. J Gen Intern Med 2001;16:606-13. GAD-7: Spitzer RL, Kroenke K, Williams JBW,
  Löwe B. Arch Intern Med 2006;166:1092-7. Item LOINC codes: PHQ-9 panel 44249-1 (items
  44250-9 … 44260-8, total 44261-6, difficulty 69722-7); GAD-7 panel 69737-5 (items
  69725-0, 68509-9, 69733-4, 69734-2, 69735-9, 69689-8, 69736-7, total 70274-6).
- C-SSRS Screener (Columbia-Suicide Severity Rating Scale, screen version, recent /
  since last contact): Posner K, Brent D, Lucas C, et al. © The Research Foundation for
  Mental Hygiene, Inc. Free to use in clinical practice with attribution (the Columbia
  Lighthouse Project, cssrs.columbia.edu). It is a screen, not a diagnosis. No LOINC panel
  is used here for its items; the export codes them with the KAP-CDS code system.
"""

from __future__ import annotations

from dataclasses import dataclass

FREQUENCY = ((0, "Not at all"), (1, "Several days"), (2, "More than half the days"),
             (3, "Nearly every day"))
DIFFICULTY = ((0, "Not difficult at all"), (1, "Somewhat difficult"), (2, "Very difficult"),
              (3, "Extremely difficult"))
YES_NO = ((1, "Yes"), (0, "No"))


@dataclass(frozen=True)
class Item:
    """One question: its key (stored), exact text, LOINC code (None: none used)."""

    key: str
    text: str
    loinc: str | None
    options: tuple[tuple[int, str], ...]
    scored: bool = True  # counts towards the total
    required: bool = True


@dataclass(frozen=True)
class Instrument:
    """A questionnaire as the patient sees it and as the store and export code it."""

    key: str
    title: str
    preamble: str
    items: tuple[Item, ...]
    loinc_panel: str | None
    loinc_total: str | None
    max_total: int
    attribution: str

    def item(self, key: str) -> Item:
        """The item with ``key`` (KeyError names the instrument)."""
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(f"{self.key} has no item {key!r}")


_PHQ9_TEXT = (
    ("44250-9", "Little interest or pleasure in doing things"),
    ("44255-8", "Feeling down, depressed, or hopeless"),
    ("44259-0", "Trouble falling or staying asleep, or sleeping too much"),
    ("44254-1", "Feeling tired or having little energy"),
    ("44251-7", "Poor appetite or overeating"),
    ("44258-2", "Feeling bad about yourself — or that you are a failure or have let "
                "yourself or your family down"),
    ("44252-5", "Trouble concentrating on things, such as reading the newspaper or "
                "watching television"),
    ("44253-3", "Moving or speaking so slowly that other people could have noticed? Or "
                "the opposite — being so fidgety or restless that you have been moving "
                "around a lot more than usual"),
    ("44260-8", "Thoughts that you would be better off dead or of hurting yourself in "
                "some way"),
)
_GAD7_TEXT = (
    ("69725-0", "Feeling nervous, anxious or on edge"),
    ("68509-9", "Not being able to stop or control worrying"),
    ("69733-4", "Worrying too much about different things"),
    ("69734-2", "Trouble relaxing"),
    ("69735-9", "Being so restless that it is hard to sit still"),
    ("69689-8", "Becoming easily annoyed or irritable"),
    ("69736-7", "Feeling afraid as if something awful might happen"),
)
_DIFFICULTY_TEXT = ("If you checked off any problems, how difficult have these problems "
                    "made it for you to do your work, take care of things at home, or get "
                    "along with other people?")
_PFIZER = ("Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and "
           "colleagues, with an educational grant from Pfizer Inc. No permission required "
           "to reproduce, translate, display or distribute.")

PHQ9 = Instrument(
    key="phq9", title="Patient Health Questionnaire (PHQ-9)",
    preamble="Over the last 2 weeks, how often have you been bothered by any of the "
             "following problems?",
    items=(*(Item(f"item{n}", text, code, FREQUENCY)
             for n, (code, text) in enumerate(_PHQ9_TEXT, start=1)),
           Item("difficulty", _DIFFICULTY_TEXT, "69722-7", DIFFICULTY, scored=False,
                required=False)),
    loinc_panel="44249-1", loinc_total="44261-6", max_total=27, attribution=_PFIZER)

GAD7 = Instrument(
    key="gad7", title="Generalized Anxiety Disorder 7-item scale (GAD-7)",
    preamble="Over the last 2 weeks, how often have you been bothered by the following "
             "problems?",
    items=(*(Item(f"item{n}", text, code, FREQUENCY)
             for n, (code, text) in enumerate(_GAD7_TEXT, start=1)),
           Item("difficulty", _DIFFICULTY_TEXT, "69726-8", DIFFICULTY, scored=False,
                required=False)),
    loinc_panel="69737-5", loinc_total="70274-6", max_total=21, attribution=_PFIZER)

_CSSRS_BEHAVIOUR = (
    "Have you done anything, started to do anything, or prepared to do anything to end "
    "your life? (Examples: Collected pills, obtained a gun, gave away valuables, wrote a "
    "will or suicide note, took out pills but didn't swallow any, held a gun but changed "
    "your mind or it was grabbed from your hand, went to the roof but didn't jump; or "
    "actually took pills, tried to shoot yourself, cut yourself, tried to hang yourself, "
    "etc.)")
CSSRS = Instrument(
    key="cssrs", title="Columbia-Suicide Severity Rating Scale (C-SSRS) Screener",
    preamble="Answer questions 1 and 2. If you answer YES to question 2, also answer "
             "questions 3, 4 and 5. Always answer question 6. Questions 1 to 5 ask about "
             "the past month.",
    items=(
        Item("wish_dead", "Have you wished you were dead or wished you could go to sleep "
             "and not wake up?", None, YES_NO),
        Item("thoughts", "Have you actually had any thoughts about killing yourself?",
             None, YES_NO),
        Item("method", "Have you been thinking about how you might do this?", None, YES_NO,
             required=False),
        Item("intent", "Have you had these thoughts and had some intention of acting on "
             "them?", None, YES_NO, required=False),
        Item("plan", "Have you started to work out or worked out the details of how to "
             "kill yourself? Do you intend to carry out this plan?", None, YES_NO,
             required=False),
        Item("behaviour", _CSSRS_BEHAVIOUR, None, YES_NO),
        Item("behaviour_3m", "If you answered YES to question 6: was this within the past "
             "3 months?", None, YES_NO, required=False),
    ),
    loinc_panel=None, loinc_total=None, max_total=6,
    attribution="Columbia-Suicide Severity Rating Scale (C-SSRS) Screener, © The Research "
                "Foundation for Mental Hygiene, Inc.; Posner K et al. Used with "
                "attribution as the Columbia Lighthouse Project permits.")

INSTRUMENTS: dict[str, Instrument] = {i.key: i for i in (PHQ9, GAD7, CSSRS)}
CSSRS_FOLLOW_UPS = ("method", "intent", "plan")  # only when "thoughts" is YES


def instrument(key: str) -> Instrument:
    """The instrument called ``key``; ValueError names the ones that exist."""
    try:
        return INSTRUMENTS[key]
    except KeyError:
        raise ValueError(f"unknown questionnaire {key!r}; use one of "
                         f"{', '.join(INSTRUMENTS)}") from None
