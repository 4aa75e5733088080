"""What closeloop counts as a negative survey answer, in every shipped language."""

from __future__ import annotations

import pytest

from closeloop.domain.comment_model import CommentModel
from closeloop.domain.judgment import (
    CommentSignal,
    NegativityThresholds,
    Verdict,
    VerdictAction,
    judge_answer,
)
from closeloop.domain.lexicon import Lexicon, language_of
from closeloop.domain.surveys import SurveyAnswer
from tests.fakes import SHIPPED_LOCALES

DEFAULTS = NegativityThresholds()


def comment_answer(comment: str, locale: str | None, score: int | None = 4) -> SurveyAnswer:
    return SurveyAnswer(
        survey_type="csat", score=score, resolved=None, comment=comment, reasons=(), locale=locale
    )


def judge_comment(comment: str, locale: str | None) -> Verdict:
    return judge_answer(comment_answer(comment, locale), DEFAULTS)


# Each row: (locale, comment). Real-sounding comments a customer leaves after a follow-up email.
NEGATIVE_COMMENTS = [
    # English
    ("en", "Still not working after the update."),
    ("en", "The agent was friendly but my issue is not resolved."),
    ("en", "Same problem again, third time this month."),
    ("en", "Nobody helped me, I want to cancel my subscription."),
    ("en", "Worst support experience ever."),
    ("en", "Totally useless, I'm really angry."),
    ("en", "It doesn't work."),
    ("en", "The printer still doesn\u2019t work."),  # typographic apostrophe
    ("en", "It broke again the next day."),
    # Italian
    ("it", "Non funziona ancora, ho già riavviato tre volte."),
    ("it", "Il tecnico è stato gentile ma il problema non è stato risolto."),
    ("it", "Stesso problema di prima, nulla è cambiato."),
    ("it", "Servizio pessimo, nessuno mi ha aiutato."),
    ("it", "Sono molto deluso, voglio disdire il contratto."),
    ("it", "La stampante continua a non funzionare."),
    ("it", "Il problema persiste dopo l'aggiornamento."),
    ("it", "non e stato risolto niente"),
    # Vietnamese
    ("vi", "Tôi đã làm theo hướng dẫn nhưng vẫn chưa được."),
    ("vi", "Ứng dụng vẫn không hoạt động sau khi cập nhật."),
    ("vi", "Nhân viên rất lịch sự nhưng lỗi vẫn chưa được giải quyết."),
    ("vi", "Dịch vụ tệ nhất tôi từng gặp."),
    ("vi", "Tôi rất thất vọng, không ai giúp tôi cả."),
    ("vi", "Tôi muốn hủy dịch vụ."),
    ("vi", "Tôi muốn huỷ dịch vụ."),
    ("vi", "Máy in lại bị lỗi như hôm qua."),
    ("vi", "van chua duoc, toi da thu lai nhieu lan"),
    # Catalan
    ("ca", "Encara no funciona, i ja he trucat tres vegades."),
    ("ca", "L'agent va ser amable però el problema no s'ha resolt."),
    ("ca", "Tinc el mateix problema que la setmana passada."),
    ("ca", "Ningú m'ha ajudat, vull cancel·lar el servei."),
    ("ca", "Servei pèssim, el pitjor que he tingut mai."),
    ("ca", "Continua sense funcionar després de l'actualització."),
    ("ca", "Estic molt decebut amb l'atenció."),
    ("ca", "vull cancel.lar el contracte"),
    # Croatian
    ("hr", "Još uvijek ne radi, iako sam sve restartao."),
    ("hr", "Agent je bio ljubazan, ali problem nije riješen."),
    ("hr", "Opet isti problem kao prošli tjedan."),
    ("hr", "Nitko mi nije pomogao, želim otkazati pretplatu."),
    ("hr", "Najgora korisnička podrška ikad."),
    ("hr", "Jako sam razočaran uslugom."),
    ("hr", "Internet i dalje ne radi."),
    ("hr", "jos uvijek ne radi"),
    # Spanish
    ("es", "Sigue sin funcionar después de reiniciar el router."),
    ("es", "La agente fue amable, pero el problema no se ha resuelto."),
    ("es", "Tengo el mismo problema otra vez."),
    ("es", "Nadie me ayudó, quiero darme de baja."),
    ("es", "El peor servicio que he tenido, pésimo."),
    ("es", "Todavía no funciona la aplicación."),
    ("es", "Estoy muy decepcionado con la atención."),
    ("es", "aun no funciona nada"),
    # French
    ("fr", "Ça ne marche toujours pas, j'ai tout essayé."),
    ("fr", "L'agent était sympa mais ce n'est pas résolu."),
    ("fr", "Toujours le même problème depuis une semaine."),
    ("fr", "Personne ne m'a aidé, je veux résilier mon abonnement."),
    ("fr", "Service nul, le pire que j'ai connu."),
    ("fr", "Je suis très déçue de l'assistance."),
    ("fr", "ca marche toujours pas"),
    ("fr", "Le problème persiste après la mise à jour."),
    # German
    ("de", "Funktioniert immer noch nicht, trotz Neustart."),
    ("de", "Der Mitarbeiter war nett, aber das Problem ist nicht gelöst."),
    ("de", "Wieder das gleiche Problem wie letzte Woche."),
    ("de", "Niemand hat mir geholfen, ich will kündigen."),
    ("de", "Der schlechteste Support, den ich je hatte."),
    ("de", "Ich bin sehr enttäuscht."),
    ("de", "Ich bin wütend, weil es immer noch nicht funktioniert."),
    ("de", "Das Problem besteht weiterhin."),
    # Portuguese
    ("pt", "Ainda não funciona, já reiniciei o modem três vezes."),
    ("pt", "O atendente foi simpático, mas o problema não foi resolvido."),
    ("pt", "Continua sem funcionar depois da atualização."),
    ("pt", "Ninguém me ajudou, quero cancelar a assinatura."),
    ("pt", "Péssimo atendimento, o pior que já tive."),
    ("pt", "Estou muito decepcionada com o suporte."),
    ("pt-BR", "Tenho o mesmo problema de antes."),
    ("pt", "ainda nao funciona"),
]

NOT_NEGATIVE_COMMENTS = [
    # English
    ("en", "Not bad at all, quick answer."),
    ("en", "No problem, everything is sorted. Thanks!"),
    ("en", "Works perfectly now, thank you."),
    ("en", "I was not disappointed, great job."),
    ("en", "Not the worst wait I've had, and the fix worked."),
    ("en", "Can't complain, fast and friendly."),
    ("en", "Never had a problem since the fix."),
    ("en", "No issues since your fix, the agent was great."),
    # Italian
    ("it", "Non male, risposta veloce."),
    ("it", "Nessun problema, tutto risolto grazie!"),
    ("it", "Funziona tutto, grazie mille."),
    ("it", "Non sono deluso, anzi: ottimo servizio."),
    ("it", "Non è stato inutile chiamare, finalmente funziona."),
    ("it", "Il problema è stato risolto in giornata."),
    ("it", "Non c'è problema, capita."),
    ("it", "Tutto perfetto, Marco è stato bravissimo."),
    # Vietnamese
    ("vi", "Không tệ, nhân viên hỗ trợ nhanh."),
    ("vi", "Không có vấn đề gì, cảm ơn bạn!"),
    ("vi", "Mọi thứ đã hoạt động tốt, cảm ơn."),
    ("vi", "Tôi không thất vọng chút nào."),
    ("vi", "Dịch vụ không đến nỗi tệ."),
    ("vi", "Nhân viên rất nhiệt tình, vấn đề đã được giải quyết."),
    ("vi", "Cảm ơn, không sao cả."),
    ("vi", "khong te, cam on"),
    # Catalan
    ("ca", "Cap problema, tot resolt. Gràcies!"),
    ("ca", "No està malament, però podria ser més ràpid."),
    ("ca", "Ja funciona perfectament, moltes gràcies."),
    ("ca", "No estic gens decebut, al contrari."),
    ("ca", "La incidència s'ha resolt en un dia."),
    ("ca", "No és pas inútil trucar-los: m'ho van arreglar."),
    ("ca", "Sense problemes, molt amables."),
    ("ca", "Gens malament, tot correcte."),
    # Croatian
    ("hr", "Nema problema, sve je riješeno. Hvala!"),
    ("hr", "Nije loše, ali moglo je brže."),
    ("hr", "Sve radi, hvala vam puno."),
    ("hr", "Nisam ljut, samo sam htio pitati."),
    ("hr", "Problem je riješen isti dan."),
    ("hr", "Ne radi se o vama, agent je bio odličan."),
    ("hr", "Nimalo razočaran, odlična usluga."),
    ("hr", "Bez problema, brzo i ljubazno."),
    # Spanish
    ("es", "Sin problemas, todo resuelto. ¡Gracias!"),
    ("es", "No está mal, aunque tardaron un poco."),
    ("es", "Ya funciona perfectamente, muchas gracias."),
    ("es", "No estoy nada decepcionado, al contrario."),
    ("es", "No fue inútil llamar: lo arreglaron enseguida."),
    ("es", "Ningún problema, la atención fue excelente."),
    ("es", "Todo funciona de maravilla."),
    ("es", "Nada mal, muy rápido."),
    # French
    ("fr", "Pas mal du tout, réponse rapide."),
    ("fr", "Aucun problème, tout est réglé. Merci !"),
    ("fr", "Ça marche parfaitement maintenant, merci."),
    ("fr", "Je ne suis pas déçu, bien au contraire."),
    ("fr", "Pas de souci, l'agent a été très efficace."),
    ("fr", "Ça marche pas mal, merci pour l'aide."),
    ("fr", "Le problème a été résolu en une heure."),
    ("fr", "Ce n'était pas inutile d'appeler."),
    # German
    ("de", "Nicht schlecht, schnelle Antwort."),
    ("de", "Kein Problem, alles gelöst. Danke!"),
    ("de", "Funktioniert jetzt einwandfrei, vielen Dank."),
    ("de", "Ich bin überhaupt nicht enttäuscht."),
    ("de", "Es geht nicht um den Support, der war super."),
    ("de", "Besser geht's nicht!"),
    ("de", "Das Problem wurde sofort gelöst."),
    ("de", "Gar nicht schlecht, danke!"),
    # Portuguese
    ("pt", "Não é mau, mas demorou um pouco."),
    ("pt", "Sem problemas, tudo resolvido. Obrigado!"),
    ("pt", "Agora funciona perfeitamente, obrigada."),
    ("pt", "Não fiquei nada decepcionado, pelo contrário."),
    ("pt", "Nada mau, atendimento rápido."),
    ("pt-BR", "O problema foi resolvido no mesmo dia."),
    ("pt", "Não foi inútil ligar, resolveram tudo."),
    ("pt-PT", "Nenhum problema, foram muito simpáticos."),
]


@pytest.mark.parametrize(("locale", "comment"), NEGATIVE_COMMENTS)
def test_a_comment_saying_the_problem_remains_or_complaining_is_negative(locale: str, comment: str) -> None:
    verdict = judge_comment(comment, locale)

    assert verdict.negative
    assert verdict.reasons == ("negative_comment",)
    assert verdict.evidence[0].startswith("comment matches ")


@pytest.mark.parametrize(("locale", "comment"), NOT_NEGATIVE_COMMENTS)
def test_praise_negated_complaints_and_no_problem_idioms_are_not_negative(locale: str, comment: str) -> None:
    verdict = judge_comment(comment, locale)

    assert verdict == Verdict(negative=False, action=VerdictAction.NONE, reasons=(), evidence=())


@pytest.mark.parametrize(("locale", "comment"), NEGATIVE_COMMENTS)
def test_negative_comments_are_still_caught_when_the_survey_locale_is_unknown(
    locale: str, comment: str
) -> None:
    assert judge_comment(comment, None).negative
    assert judge_comment(comment, "ja").negative


@pytest.mark.parametrize(("locale", "comment"), NOT_NEGATIVE_COMMENTS)
def test_non_negative_comments_stay_non_negative_when_the_locale_is_unknown(
    locale: str, comment: str
) -> None:
    assert not judge_comment(comment, None).negative


def test_every_shipped_locale_has_negative_and_non_negative_examples() -> None:
    shipped = {language_of(locale) or "" for locale in SHIPPED_LOCALES}

    for table in (NEGATIVE_COMMENTS, NOT_NEGATIVE_COMMENTS):
        per_language = dict.fromkeys(shipped, 0)
        for locale, _ in table:
            per_language[language_of(locale) or ""] += 1
        assert min(per_language.values()) >= 8, per_language


def test_evidence_quotes_the_lexicon_phrase_and_its_language() -> None:
    verdict = judge_comment("Still not working after the update.", "en")

    # The longer phrase wins over "not working" inside it.
    assert verdict.evidence == ('comment matches "still not working" (en)',)


def test_a_comment_in_another_language_than_the_survey_is_caught_when_it_says_unresolved() -> None:
    # GIVEN an Italian survey answered in English
    verdict = judge_comment("Sorry, it is still not working.", "it")

    assert verdict.negative
    assert '"still not working" (en)' in verdict.evidence[0]


def test_vietnamese_tone_marks_are_respected() -> None:
    # "tệ" is "bad"; "tê" is "numb": a comment written with diacritics is matched with them.
    assert judge_comment("Dịch vụ rất tệ.", "vi").negative
    assert not judge_comment("Tay tôi bị tê vì chờ lâu, nhưng nhân viên rất tốt.", "vi").negative


def test_vietnamese_typed_without_diacritics_matches_only_multi_syllable_phrases() -> None:
    assert judge_comment("ung dung van khong hoat dong", "vi").negative
    # A lone "te" could be tệ, tê or té: the lexicon does not match it, so no phrase is quoted as
    # evidence; only the comment model's reading of the tone can count it (as "dịch vụ tệ", bad service).
    assert Lexicon.default().find_matches("dich vu te", "vi") == ()
    verdict = judge_comment("dich vu te", "vi")
    assert not any(e.startswith("comment matches") for e in verdict.evidence)
    # and tone alone never reopens an answer that carries a good score
    assert verdict.action is not VerdictAction.REOPEN


def test_a_negator_does_not_reach_across_a_clause_break() -> None:
    assert judge_comment("No, the worst service I have ever had.", "en").negative


# ---- scores -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("survey_type", "score", "negative"),
    [
        ("csat", 1, True),
        ("csat", 2, True),
        ("csat", 3, False),
        ("csat", 5, False),
        ("nps", 0, True),
        ("nps", 6, True),
        ("nps", 7, False),
        ("nps", 10, False),
        ("ces", 7, True),
        ("ces", 5, True),
        ("ces", 4, False),
        ("ces", 1, False),
    ],
)
def test_scores_at_the_default_thresholds(survey_type: str, score: int, negative: bool) -> None:
    answer = SurveyAnswer(
        survey_type=survey_type,  # type: ignore[arg-type]
        score=score,
        resolved=None,
        comment=None,
        reasons=(),
        locale="en",
    )

    verdict = judge_answer(answer, DEFAULTS)

    assert verdict.negative is negative
    assert verdict.reasons == (("low_score",) if negative else ())


def test_low_score_evidence_names_the_scale_and_the_threshold() -> None:
    answer = SurveyAnswer(survey_type="ces", score=6, resolved=None, comment=None, reasons=(), locale=None)

    verdict = judge_answer(answer, DEFAULTS)

    assert verdict.evidence == ("CES 6 of 7 (customer effort; 5 or more is negative)",)


def test_a_stricter_deployment_threshold_makes_a_middle_score_negative() -> None:
    answer = SurveyAnswer(survey_type="csat", score=3, resolved=None, comment=None, reasons=(), locale=None)

    assert judge_answer(answer, NegativityThresholds.parse("csat<=3")).reasons == ("low_score",)


@pytest.mark.parametrize(
    ("survey_type", "score"),
    [("csat", 0), ("csat", 6), ("nps", 11), ("nps", -1), ("ces", 8), ("resolved", 1)],
)
def test_a_score_outside_its_scale_is_refused(survey_type: str, score: int) -> None:
    with pytest.raises(ValueError, match="score"):
        SurveyAnswer(
            survey_type=survey_type,  # type: ignore[arg-type]
            score=score,
            resolved=None,
            comment=None,
            reasons=(),
            locale=None,
        )


# ---- resolved -----------------------------------------------------------------------------------------


def test_a_resolved_survey_answered_no_is_not_resolved() -> None:
    answer = SurveyAnswer(
        survey_type="resolved", score=None, resolved=False, comment=None, reasons=(), locale="hr"
    )

    verdict = judge_answer(answer, DEFAULTS)

    assert verdict == Verdict(
        negative=True,
        action=VerdictAction.REOPEN,
        reasons=("not_resolved",),
        evidence=("customer answered that the problem is not resolved",),
    )


def test_a_resolved_survey_answered_yes_without_comment_is_not_negative() -> None:
    answer = SurveyAnswer(
        survey_type="resolved", score=None, resolved=True, comment=None, reasons=(), locale="hr"
    )

    assert not judge_answer(answer, DEFAULTS).negative


def test_a_good_score_with_resolved_false_is_negative() -> None:
    answer = SurveyAnswer(survey_type="nps", score=9, resolved=False, comment=None, reasons=(), locale="de")

    assert judge_answer(answer, DEFAULTS).reasons == ("not_resolved",)


def test_picking_the_not_resolved_reason_is_not_resolved() -> None:
    answer = SurveyAnswer(
        survey_type="csat", score=4, resolved=None, comment=None, reasons=("not_resolved",), locale="es"
    )

    assert judge_answer(answer, DEFAULTS).reasons == ("not_resolved",)


def test_reasons_are_deduplicated_and_ordered_score_resolution_comment() -> None:
    # GIVEN every signal at once, the unresolved one twice
    answer = SurveyAnswer(
        survey_type="csat",
        score=1,
        resolved=False,
        comment="Non funziona ancora.",
        reasons=("slow", "not_resolved", "had_to_repeat"),
        locale="it",
    )

    verdict = judge_answer(answer, DEFAULTS)

    assert verdict.reasons == ("low_score", "not_resolved", "negative_comment")
    assert verdict.evidence[-1] == "customer also picked: slow, had_to_repeat"


def test_five_stars_with_a_still_broken_comment_reopens() -> None:
    # GIVEN the best score, but words saying the problem is not solved: the words win
    answer = SurveyAnswer(
        survey_type="csat",
        score=5,
        resolved=None,
        comment="5 stars for the agent but it still doesn't work",
        reasons=(),
        locale="en",
    )

    verdict = judge_answer(answer, DEFAULTS)

    assert verdict.negative
    assert verdict.reasons == ("negative_comment",)
    assert verdict.action is VerdictAction.REOPEN


def test_a_good_answer_with_praise_is_not_negative() -> None:
    answer = SurveyAnswer(
        survey_type="nps", score=10, resolved=True, comment="Grazie, tutto perfetto!", reasons=(), locale="it"
    )

    assert judge_answer(answer, DEFAULTS) == Verdict(
        negative=False, action=VerdictAction.NONE, reasons=(), evidence=()
    )


def test_an_empty_comment_is_not_judged() -> None:
    answer = SurveyAnswer(survey_type="csat", score=4, resolved=None, comment="   ", reasons=(), locale="en")

    assert not judge_answer(answer, DEFAULTS, classifier=AlwaysNegative()).negative


# ---- a second classifier (Comprehend) -------------------------------------------------------------------


class FixedClassifier:
    """A second opinion that always answers the same, and records what it was asked."""

    def __init__(self, signal: CommentSignal | None) -> None:
        self.signal = signal
        self.asked: list[tuple[str, str | None]] = []

    def is_negative(self, comment: str, locale: str | None) -> CommentSignal | None:
        self.asked.append((comment, locale))
        return self.signal


class AlwaysNegative(FixedClassifier):
    def __init__(self) -> None:
        super().__init__(CommentSignal(negative=True, evidence="second opinion: NEGATIVE"))


def test_the_second_classifier_can_find_a_negative_comment_the_lexicon_misses() -> None:
    verdict = judge_answer(comment_answer("Meh. Took four emails.", "en"), DEFAULTS, AlwaysNegative())

    assert verdict.reasons == ("negative_comment",)
    assert verdict.evidence == ("second opinion: NEGATIVE",)


def test_the_second_classifier_overrules_the_lexicon_on_tone() -> None:
    # GIVEN a complaint word the lexicon flags, in a comment the classifier reads as positive
    positive = FixedClassifier(CommentSignal(negative=False, evidence="second opinion: POSITIVE"))

    verdict = judge_answer(
        comment_answer("The worst part was the wait, but Ana fixed everything.", "en"), DEFAULTS, positive
    )

    assert not verdict.negative


def test_the_lexicons_unresolved_phrases_count_even_when_the_second_classifier_reads_positive() -> None:
    positive = FixedClassifier(CommentSignal(negative=False, evidence="second opinion: POSITIVE"))

    verdict = judge_answer(
        comment_answer("Lovely agent, thanks! Still not working though.", "en"), DEFAULTS, positive
    )

    assert verdict.reasons == ("negative_comment",)
    assert verdict.evidence == ('comment matches "still not working" (en)',)


def test_the_lexicon_decides_alone_when_the_second_classifier_cannot_judge() -> None:
    # GIVEN a language the second classifier does not support (it answers None)
    declining = FixedClassifier(None)

    verdict = judge_answer(comment_answer("Tôi rất thất vọng.", "vi"), DEFAULTS, declining)

    assert verdict.reasons == ("negative_comment",)
    assert declining.asked == [("Tôi rất thất vọng.", "vi")]


# ---- thresholds ---------------------------------------------------------------------------------------


def test_threshold_parsing_reads_every_type_in_any_order_with_spaces() -> None:
    thresholds = NegativityThresholds.parse(" ces >= 6 , csat<=1,nps<=5 ")

    assert thresholds == NegativityThresholds(csat_max_negative=1, nps_max_negative=5, ces_min_negative=6)


def test_threshold_parsing_keeps_defaults_for_types_left_out() -> None:
    assert NegativityThresholds.parse("nps<=4") == NegativityThresholds(nps_max_negative=4)
    assert NegativityThresholds.parse("") == DEFAULTS


def test_thresholds_print_as_the_parameter_string_they_parse_from() -> None:
    assert str(DEFAULTS) == "csat<=2,nps<=6,ces>=5"
    assert NegativityThresholds.parse(str(DEFAULTS)) == DEFAULTS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("csat>=2", "csat threshold must use '<='"),
        ("ces<=5", "ces threshold must use '>='"),
        ("csat<=9", "csat threshold must be an integer 1-5"),
        ("nps<=11", "nps threshold must be an integer 0-10"),
        ("stars<=2", "unknown survey type 'stars'"),
        ("csat=2", "is not like"),
        ("csat<=two", "is not like"),
        ("csat<=2,csat<=3", "csat threshold given twice"),
    ],
)
def test_threshold_parsing_refuses_bad_input_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NegativityThresholds.parse(text)


# ---- explicit answers first: the action ----------------------------------------------------------------


def an_answer(
    comment: str | None, score: int | None = None, resolved: bool | None = None, survey_type: str = "csat"
) -> SurveyAnswer:
    return SurveyAnswer(
        survey_type=survey_type,  # type: ignore[arg-type]
        score=score,
        resolved=resolved,
        comment=comment,
        reasons=(),
        locale="en",
    )


@pytest.mark.parametrize(
    ("answer", "action"),
    [
        # a bad explicit answer reopens, whatever the comment says
        (an_answer("Thanks anyway", score=1), VerdictAction.REOPEN),
        (an_answer(None, score=5, resolved=False), VerdictAction.REOPEN),
        (an_answer("Terrible support.", score=2, resolved=True), VerdictAction.REOPEN),
        # a happy explicit answer with a negative comment is a "please look" alert, never a reopen
        (an_answer("Terrible support.", score=5, resolved=True), VerdictAction.ALERT),
        (an_answer("It still doesn't work.", score=5, resolved=True), VerdictAction.ALERT),
        (an_answer("Still broken.", resolved=True, survey_type="resolved"), VerdictAction.ALERT),
        # a good score with a complaint in tone: mixed signals
        (an_answer("Nobody called me back, terrible.", score=4), VerdictAction.ALERT),
        (an_answer("I am really disappointed.", score=9, survey_type="nps"), VerdictAction.ALERT),
        # a score that is not low, with words saying the problem is still there: the words win
        (an_answer("It still doesn't work.", score=4), VerdictAction.REOPEN),
        (an_answer("Same problem as before.", score=3), VerdictAction.REOPEN),
        # no score at all (an email reply): judged on the text alone
        (an_answer("Nobody called me back, terrible."), VerdictAction.REOPEN),
        (an_answer("Thanks, all good now."), VerdictAction.NONE),
        (an_answer(None, score=5, resolved=True), VerdictAction.NONE),
    ],
)
def test_explicit_answers_come_first(answer: SurveyAnswer, action: VerdictAction) -> None:
    verdict = judge_answer(answer, DEFAULTS)

    assert verdict.action is action
    assert verdict.negative is (action is not VerdictAction.NONE)


def test_a_verdict_cannot_be_negative_without_an_action() -> None:
    with pytest.raises(ValueError, match="negative verdict cannot have the action"):
        Verdict(negative=True, action=VerdictAction.NONE, reasons=("low_score",), evidence=())


# ---- the patterns of issue 9, in every shipped language ---------------------------------------------------

# Each row: (locale, comment, pattern). Comments written for these tests, apart from the labeled corpus.
PATTERN_NEGATIVES = [
    ("en", "I still can't get into the portal.", "inability"),
    ("en", "Unable to send invoices since Monday.", "inability"),
    ("en", "The same error came back after the reboot.", "recurrence"),
    ("en", "The router keeps dropping the connection.", "recurrence"),
    ("en", "No one ever called me back.", "no contact"),
    ("en", "I have never been this angry with a supplier.", "emphasis"),
    ("it", "Non riesco più a scaricare le fatture.", "inability"),
    ("it", "Il problema si è ripresentato stamattina.", "recurrence"),
    ("it", "Nessuno mi ha mai richiamato.", "no contact"),
    ("it", "Non sono mai stata così arrabbiata.", "emphasis"),
    ("vi", "Tôi vẫn không thanh toán được.", "inability"),
    ("vi", "Lỗi lại xuất hiện trên điện thoại của tôi.", "recurrence"),
    ("vi", "Không ai gọi lại cho tôi.", "no contact"),
    ("ca", "No puc pagar amb targeta.", "inability"),
    ("ca", "L'error ha tornat aquesta setmana.", "recurrence"),
    ("ca", "Ningú m'ha trucat per explicar-m'ho.", "no contact"),
    ("ca", "Mai no m'havia sentit tan enfadada.", "emphasis"),
    ("hr", "Ne mogu platiti karticom.", "inability"),
    ("hr", "Problem se opet pojavio jutros.", "recurrence"),
    ("hr", "Nitko me nije nazvao natrag.", "no contact"),
    ("hr", "Nikad nisam bila ovako ljuta.", "emphasis"),
    ("es", "No consigo descargar las facturas.", "inability"),
    ("es", "El fallo volvió a aparecer ayer por la tarde.", "recurrence"),
    ("es", "Nadie me ha llamado todavía.", "no contact"),
    ("es", "Nunca he estado tan enfadada con una empresa.", "emphasis"),
    ("fr", "Je n'arrive pas à payer en ligne.", "inability"),
    ("fr", "Le problème est revenu ce matin.", "recurrence"),
    ("fr", "Personne ne m'a jamais rappelée.", "no contact"),
    ("fr", "Je n'ai jamais été aussi en colère.", "emphasis"),
    ("de", "Ich kann die Rechnung nicht herunterladen.", "inability"),
    ("de", "Die App stürzt ständig ab.", "recurrence"),
    ("de", "Niemand hat mich zurückgerufen.", "no contact"),
    ("de", "Ich war noch nie so wütend.", "emphasis"),
    ("pt-BR", "Não consigo pagar com cartão.", "inability"),
    ("pt-PT", "O problema voltou a aparecer esta manhã.", "recurrence"),
    ("pt-BR", "Ninguém me ligou de volta.", "no contact"),
    ("pt-PT", "Nunca fiquei tão irritada.", "emphasis"),
]

# Stories the customer overturns, idioms that look negative, and the false alarms the issue lists.
PATTERN_NON_NEGATIVES = [
    ("en", "At first the app didn't work, but now it's perfect.", "contrast"),
    ("en", "I can't thank you enough!", "idiom"),
    ("en", "The problem never came back.", "negated recurrence"),
    ("it", "All'inizio non funzionava, ma adesso va benissimo.", "contrast"),
    ("it", "Non riesco a credere a quanto siete stati veloci.", "idiom"),
    ("vi", "Lúc đầu không đăng nhập được, nhưng giờ thì ổn rồi.", "contrast"),
    ("ca", "No m'ha decebut gens", "issue: clitic before the auxiliary"),
    ("ca", "Al principi no funcionava, però ara va perfecte.", "contrast"),
    ("hr", "Printer više ne radi probleme.", "issue: ne radi probleme"),
    ("hr", "Isprva nije radilo, ali sada radi savršeno.", "contrast"),
    ("es", "Al principio no funcionaba, pero ahora va perfecto.", "contrast"),
    ("es", "No puedo creer lo rápido que fue.", "idiom"),
    ("fr", "Au début ça ne marchait pas, mais maintenant c'est parfait.", "contrast"),
    ("de", "Ich kann immer noch nicht glauben, wie schnell das ging!", "issue: idiom"),
    ("de", "Am Anfang ging es nicht, aber jetzt läuft alles.", "contrast"),
    ("pt-BR", "No começo não funcionava, mas agora está perfeito.", "contrast"),
    ("pt-PT", "Não posso acreditar como foi rápido.", "idiom"),
    ("en", "Neither satisfied nor dissatisfied.", "the scale's middle"),
    ("en", "I never got such quick help, and I keep getting compliments on the new router.", "praise"),
    ("de", "Der Support ist ständig erreichbar und sehr freundlich.", "praise"),
    ("es", "Estuvieron continuamente pendientes de mí, gracias.", "praise"),
    ("de", "Weder zufrieden noch unzufrieden.", "the scale's middle"),
    ("es", "El técnico volvió a llamar para confirmar que todo iba bien.", "called again"),
    ("pt-BR", "A atendente voltou a ligar no dia seguinte, muito atenciosa.", "called again"),
]


@pytest.mark.parametrize(("locale", "comment", "pattern"), PATTERN_NEGATIVES)
def test_issue_9_patterns_are_negative(locale: str, comment: str, pattern: str) -> None:
    assert judge_comment(comment, locale).negative, pattern


@pytest.mark.parametrize(("locale", "comment", "pattern"), PATTERN_NON_NEGATIVES)
def test_overturned_stories_and_idioms_are_not_negative(locale: str, comment: str, pattern: str) -> None:
    assert not judge_comment(comment, locale).negative, pattern


def test_the_issues_false_alarm_with_five_stars_and_resolved_does_nothing() -> None:
    answer = an_answer("It didn't work at first, but Daniel fixed it quickly", score=5, resolved=True)

    assert judge_answer(answer, DEFAULTS) == Verdict(
        negative=False, action=VerdictAction.NONE, reasons=(), evidence=()
    )


def test_a_vietnamese_story_told_without_tense_marks_is_not_negative() -> None:
    # "Yesterday the internet didn't connect; I called the hotline and got help right away."
    assert not judge_comment("Hôm qua mạng không vào được, gọi tổng đài là được hỗ trợ ngay.", "vi").negative
    # the same words without the story's end still say it does not work
    assert judge_comment("Mạng không vào được.", "vi").negative


@pytest.mark.parametrize(
    "comment",
    [
        "Máy in không in được, em gọi tổng đài và được hướng dẫn sửa ngay, cảm ơn.",
        "Không đăng nhập được, nhân viên hướng dẫn đổi mật khẩu là xong.",
        "Tuần trước mạng bị rớt liên tục, kỹ thuật viên đến thay modem là hết.",
    ],
)
def test_a_vietnamese_story_ending_in_its_fix_is_not_negative(comment: str) -> None:
    assert not judge_comment(comment, "vi").negative


def test_a_vietnamese_fix_that_did_not_hold_is_negative() -> None:
    assert judge_comment("Nhân viên bảo là xong rồi nhưng vẫn lỗi.", "vi").negative
    assert judge_comment("Máy vẫn không in được, chưa sửa xong.", "vi").negative


# ---- complaints no single phrase foresees: persistence, money, wrong answers, being passed around ----------

# Each row: (locale, comment, pattern). Written for these tests, apart from the labeled corpus.
GENERAL_NEGATIVES = [
    ("en", "The sync error still pops up on my laptop.", "persistence"),
    ("en", "Nobody followed up after the engineer left.", "no follow-up"),
    ("en", "Your agent gave me wrong information twice.", "wrong information"),
    ("it", "Il messaggio di errore compare ancora all'avvio.", "persistence"),
    ("it", "Operatrice sgarbata, mi ha chiuso il telefono in faccia e nessun rimborso.", "rude, refund"),
    ("vi", "Ứng dụng vẫn báo lỗi khi thanh toán.", "persistence"),
    ("vi", "Tổng đài viên tư vấn sai, tôi phải giải thích lại hai lần.", "wrong information, repeat"),
    ("ca", "L'avís d'error encara surt cada matí.", "persistence"),
    ("ca", "Vaig haver de tornar a explicar-ho tot i no m'han ajudat.", "repeat, no help"),
    ("hr", "Greska se i dalje pojavljuje na mobitelu.", "persistence, no diacritics"),
    ("hr", "Agent je bio neljubazan i dao mi krive informacije.", "rude, wrong information"),
    ("es", "El aviso de error sigue saliendo en el móvil.", "persistence"),
    ("es", "Cerraron el ticket sin arreglar nada y nadie hizo seguimiento.", "closed without a fix"),
    ("fr", "Le message d'erreur apparaît toujours au démarrage.", "persistence"),
    ("fr", "On m'a donné de fausses informations et personne n'a donné suite.", "wrong information"),
    ("de", "Die Fehlermeldung erscheint weiterhin bei jedem Login.", "persistence"),
    ("de", "Ich hing ewig in der Warteschleife und bekam falsche Auskünfte.", "on hold, wrong information"),
    ("pt-BR", "A mensagem de erro ainda aparece no celular.", "persistence"),
    ("pt-BR", "Fecharam o chamado sem resolver e ninguém deu retorno.", "closed without a fix"),
    ("en", "Thanks for nothing.", "sarcasm"),
    ("fr", "Merci pour rien, je ne recommande pas.", "sarcasm, warning others"),
    ("es", "Me pasaron de uno a otro y nadie sabía nada.", "passed around"),
    ("de", "Seit zwei Wochen immer noch ohne Internet.", "still without"),
    ("hr", "I dalje naplaćujete pretplatu iako sam otkazala.", "billed after cancelling"),
    ("de", "Ich habe ein Gerät, das seit Tagen nicht richtig funktioniert.", "verb last in a German clause"),
    ("de", "Eine Rechnung, die ich nicht herunterladen kann.", "verb last in a German clause"),
    ("es", "La misma avería de siempre, nada nuevo.", "the same trouble"),
    ("fr", "Le décodeur est mort à nouveau après votre passage.", "a device dead again"),
    ("es", "vale, gracias... supongo que seguiré esperando", "resigned to wait"),
    ("ca", "D'acord, ja esperaré. Gràcies igualment.", "resigned to wait"),
    ("hr", "ok, hvala, čekat ću onda još", "resigned to wait"),
    ("pt-BR", "tudo bem, vou esperar mais um pouco então", "resigned to wait"),
    ("vi", "dạ vâng, vậy em chờ thêm ạ", "resigned to wait"),
    ("en", "Fine, I'll keep waiting.", "resigned to wait"),
    ("de", "Na gut, ich warte weiter.", "resigned to wait"),
    ("vi", "app ko vào được", "ko: không as it is typed"),
    ("vi", "ko ai gọi lại cho mình cả", "ko: không as it is typed"),
    ("vi", "ko vao dc app luon", "dc: được as it is typed"),
    ("pt-BR", "Já instalei o app da concorrência.", "gone to a competitor"),
    ("hr", "Već sam zatražio ponudu od drugog hostinga.", "gone to a competitor"),
    ("es", "La próxima vez ya sé dónde no tengo que ir.", "never again"),
    ("vi", "Thôi lần sau ra bệnh viện bốc số xếp hàng cho nhanh.", "never again"),
    ("fr", "Je regarde les offres de la concurrence ce soir.", "looking at competitors"),
    ("en", "The chime has stopped ringing again.", "stopped again"),
    ("fr", "Le technicien est reparti sans toucher au compteur.", "left without touching it"),
    ("es", "Otro correo automático y nadie me llama.", "another automated email"),
    ("fr", "personne m'a rappelé", "nobody called back, without 'ne' as it is spoken"),
    ("pt-BR", "Tive que explicar tudo do começo de novo.", "had to explain it all again"),
    ("it", "Ok, grazie comunque, provo a chiamare domani.", "thanks anyway"),
    ("en", "Thanks anyway, I'll figure something out.", "thanks anyway"),
    ("de", "Trotzdem danke, ich versuche es beim Händler.", "thanks anyway"),
    ("hr", "Hvala svejedno, snaći ću se.", "thanks anyway"),
    ("es", "Gracias de todas formas, ya buscaré otra solución.", "thanks anyway"),
    ("fr", "Je saisis le médiateur de l'énergie.", "an escalation body"),
    ("ca", "Ho portaré al Síndic de Greuges.", "an escalation body"),
    ("it", "Mi rivolgo al Corecom.", "an escalation body"),
    ("pt-BR", "Vou postar no Reclame Aqui.", "an escalation body"),
    ("vi", "Chắc phải lên mạng bóc phốt thôi.", "a public complaint"),
    ("de", "Ich möchte vom Vertrag zurücktreten.", "withdrawing from the purchase"),
    ("hr", "Želim odustati od narudžbe.", "withdrawing from the purchase"),
    ("pt-BR", "O reembolso do voo caiu, mas o das taxas não.", "one refund arrived, the other not"),
    ("ca", "Tres hores de cua per canviar una bateria.", "a long queue"),
    ("it", "Due ore di coda allo sportello, un solo impiegato.", "a long queue"),
    ("hr", "Sat čekanja na šalteru, a unutra nitko.", "a long queue"),
    ("en", "Waited two weeks, not even an apology.", "no apology"),
    ("es", "Ni una disculpa, nada.", "no apology"),
    ("fr", "Pas un mot d'excuse pour le retard.", "no apology"),
    ("de", "Nicht mal eine Entschuldigung kam.", "no apology"),
    ("hr", "Ni isprike, ništa.", "no apology"),
    ("pt-BR", "Tá do mesmo jeito.", "just as it was"),
    ("de", "Zweimal geschrieben, kein Mensch hat sich gemeldet.", "kein Mensch: nobody"),
    ("vi", "Báo đã xử lý xong mà app vẫn treo.", "told it was done, but"),
    ("en", "Who do I complain to about this?", "asking where to complain"),
    ("de", "Wo reiche ich eine offizielle Beschwerde ein?", "a formal complaint"),
    ("vi", "Cho tôi hỏi gửi khiếu nại chính thức ở đâu?", "a formal complaint"),
    ("hr", "Pet sati čekanja i nijedna informacija.", "no information at all"),
    ("en", "How do I delete my account?", "leaving"),
    ("es", "La conexión se sigue cortando por las noches.", "still dropping"),
    ("fr", "Encore un report, c'est le 3e.", "counting the times"),
    ("ca", "M'heu retornat la fiança, però no pas els interessos.", "partly refunded"),
    ("es", "Me devolvisteis la entrada, pero no los gastos de gestión.", "partly refunded"),
    ("it", "Mi avete rimborsato il biglietto, ma non le spese di spedizione.", "partly refunded"),
    ("ca", "Gràcies per la rapidesa, però això no m'ho soluciona.", "a remedy negated"),
    ("ca", "Molt amables, res a dir. Però el bus continua arribant tard.", "polite, then still late"),
    ("fr", "Les bugs continuent chaque soir.", "persistence in the plural"),
    ("ca", "Els errors continuen, cada matí.", "persistence in the plural"),
    ("pt-BR", "Os erros seguem aparecendo.", "persistence in the plural"),
    ("it", "Assistenza inesistente.", "non-existent support"),
    ("fr", "J'ai ouvert un compte ailleurs.", "gone elsewhere"),
    ("hr", "Naplatili ste dvaput i novac još nije vraćen.", "a refund negated"),
    ("hr", "Printer i dalje ne radi ali sad skener radi.", "one thing works now, the other still not"),
    ("en", "Please send me the cancellation form.", "asking to cancel"),
    ("vi", "Thôi mình đành chịu vậy.", "resigned to the loss"),
    ("hr", "Prebacit ću se kod drugog providera.", "going to a competitor"),
    ("it", "Va be', lo monto da solo.", "doing it oneself"),
    ("fr", "Bon, je vais patienter encore.", "resigned to wait"),
    ("it", "Ho disinstallato l'app.", "gone"),
    ("pt-BR", "Foram rápidos, só esqueceram de resolver.", "fast, but forgot to fix it"),
    ("hr", "Još čekam povratni poziv.", "still waiting for the call back"),
]

GENERAL_NON_NEGATIVES = [
    ("en", "Every time I had an error you fixed it the same day.", "remedy in the clause"),
    ("en", "Still the best support I know, no errors since.", "negated trouble"),
    ("it", "Grazie ancora, nessun errore da allora.", "negated trouble"),
    ("vi", "Cảm ơn, giờ hết lỗi rồi.", "remedy"),
    ("ca", "Gràcies, l'error ja està resolt.", "remedy"),
    ("hr", "Hvala, problem je riješen još jučer.", "remedy"),
    ("es", "Sigue siendo el mejor servicio, cero problemas.", "no trouble word"),
    ("fr", "Vous êtes toujours là quand j'ai un souci, merci.", "praise"),
    ("de", "Das Problem wurde noch am selben Tag gelöst.", "remedy"),
    ("pt-BR", "Ainda bem que resolveram o problema rápido.", "idiom"),
    ("pt-BR", "Sempre que tenho um problema vocês resolvem rápido.", "remedy in the clause"),
    ("en", "Still no errors since the update, thanks.", "negated trouble"),
    ("it", "Il tecnico ha mantenuto tutte le promesse.", "promises kept"),
    ("vi", "Máy không còn bị treo nữa, cảm ơn.", "no longer: negator and filler, not a mask"),
    ("de", "Ein besseres Team kann man sich nicht wünschen.", "idiom with the verb last"),
    ("de", "Mehr kann man nicht verlangen.", "idiom"),
    ("en", "The technician replaced the damaged cable, works perfectly.", "damaged, but not on arrival"),
    ("pt-PT", "A app descarrega as faturas num segundo.", "descarregar: to download"),
    ("es", "La factura se descarga desde la web sin problema.", "descargarse: to be downloaded"),
    ("en", "It was broken for a day, then you replaced it.", "a short story overturned by a replacement"),
    ("de", "Der gleiche Techniker kam wieder, alles erledigt.", "same, with a remedy"),
    ("it", "Aspetto lo stesso tecnico domani, grazie.", "lo stesso, no trouble word"),
    ("pt-BR", "Mesmo esperando um pouco, valeu a pena.", "mesmo: even"),
    ("de", "Okay, dann warte ich auf das nächste Update.", "waiting for what comes next, not resigned"),
    ("ca", "Entesos, doncs esperaré la pròxima versió.", "waiting for what comes next, not resigned"),
    ("en", "No need to keep waiting, all sorted.", "waiting negated"),
    ("de", "Unverschämt guter Support, ehrlich.", "unverschämt as an intensifier"),
    ("en", "Ridiculous how fast that was.", "ridiculous as an intensifier"),
    ("hr", "Brutalno brzo, ne mogu vjerovat.", "the colloquial infinitive"),
    ("hr", "ne mogu se požalit", "can't complain, in the colloquial infinitive"),
    ("ca", "Va costar una mica, però no pas per culpa vostra. Gràcies!", "but not your fault"),
    ("en", "Hope you continue like this, no problems at all.", "continue, negated trouble"),
    ("hr", "Ne mogu reći ništa loše, hvala.", "a mask that overlaps another"),
    ("fr", "Pas eu de bug depuis la mise à jour.", "no bug since"),
    ("it", "Non posso proprio lamentarmi, grazie.", "can't complain, with an adverb"),
    ("en", "Couldn't have gone smoother.", "couldn't have gone better"),
    ("ca", "No va ser gens complicat, gràcies.", "it wasn't complicated at all"),
    ("pt-BR", "não dá pra reclamar, tudo certo", "can't complain"),
    ("hr", "Užasno brzo, hvala.", "užasno as an intensifier"),
    ("hr", "Dvostruka naplata vraćena, hvala.", "a double charge refunded"),
    ("hr", "Da niste reagirali, bila bih bijesna. Hvala!", "a counterfactual in the conditional mood"),
    ("es", "Vengo de otra compañía y esto es otro nivel.", "switched from a competitor to us"),
    ("en", "Came from another provider, you're miles better.", "switched from a competitor to us"),
    ("vi", "Hết bị trừ tiền rồi, cảm ơn nha.", "no more wrong charges"),
    ("hr", "Užas kako ste brzi!", "užas as an intensifier"),
    ("pt-BR", "Nada de fila, nada de cobrança duplicada. Ótimo.", "nada de: none of it"),
    ("it", "Un rimborso così veloce è quasi scandaloso.", "scandaloso as an intensifier"),
    ("hr", "Nikad brže nisam dobila povrat.", "never faster"),
    ("vi", "ko tệ chút nào, nhanh lắm", "ko: không as it is typed"),
    ("vi", "app chạy đc rồi, cảm ơn", "đc: được as it is typed"),
    ("de", "Nächstes Mal bestelle ich wieder bei euch!", "next time, again with us"),
    ("en", "Next time I'll just book with you again, great service.", "next time, again with us"),
    ("es", "Ni cinco minutos de cola, así da gusto.", "a queue negated"),
    ("en", "Not even ten minutes in the queue, brilliant.", "a queue negated"),
    ("en", "No apology needed, you fixed it fast!", "no apology needed"),
    ("de", "Keine Entschuldigung nötig, alles super.", "no apology needed"),
    ("pt-BR", "Como excluir minha conta antiga duplicada? A nova já está ok.", "a duplicate account"),
]


@pytest.mark.parametrize(("locale", "comment", "pattern"), GENERAL_NEGATIVES)
def test_complaints_said_in_words_no_phrase_foresees_are_negative(
    locale: str, comment: str, pattern: str
) -> None:
    assert judge_comment(comment, locale).negative, pattern


@pytest.mark.parametrize(("locale", "comment", "pattern"), GENERAL_NON_NEGATIVES)
def test_a_trouble_word_that_is_fixed_negated_or_praised_is_not_negative(
    locale: str, comment: str, pattern: str
) -> None:
    assert not judge_comment(comment, locale).negative, pattern


def test_a_persisting_trouble_is_evidence_the_lead_can_read() -> None:
    verdict = judge_comment("The sync error still pops up on my laptop.", "en")

    assert verdict.evidence == ('comment matches "error ... still" (en)',)


# ---- word classes, negated praise, minor remarks and refunds -------------------------------------------

# Each row: (locale, comment, pattern). Written for these tests, apart from the labeled corpus.
CLASS_AND_PRAISE_NEGATIVES = [
    ("en", "It took 12 days to get somebody on the phone.", "a waiting time in digits"),
    ("en", "Honestly not helpful at all.", "negated praise"),
    ("it", "Ci sono volute tre settimane per una risposta.", "a waiting time in words"),
    ("it", "Non sono stato per niente soddisfatto.", "negated praise with fillers"),
    ("vi", "Tôi không hài lòng chút nào, chờ 3 ngày mới có người gọi.", "negated praise, waiting"),
    ("ca", "Dues setmanes per canviar una contrasenya.", "a waiting time"),
    ("ca", "No estic gens satisfeta amb el tracte.", "negated praise"),
    ("hr", "Tri tjedna za jedan odgovor.", "a waiting time"),
    ("hr", "Nisam bila nimalo zadovoljna uslugom.", "negated praise"),
    ("es", "Cuatro semanas para darme de alta la línea.", "a waiting time"),
    ("es", "La operadora fue muy borde y me colgó.", "rude"),
    ("fr", "Dix jours pour avoir un rappel, franchement.", "a waiting time"),
    ("fr", "Pas du tout content du technicien.", "negated praise"),
    ("de", "Drei Wochen auf einen Techniker gewartet.", "a waiting time"),
    ("de", "Mit dem Ergebnis bin ich gar nicht zufrieden.", "negated praise"),
    ("pt-BR", "Quinze dias pra religarem a internet.", "a waiting time"),
    ("pt-BR", "Não fiquei nada satisfeita com o técnico.", "negated praise"),
    ("en", "Another week without internet, brilliant.", "a service lost, sarcasm"),
    ("de", "Ich musste es drei verschiedenen Leuten erklären.", "repeated to different people"),
    ("pt-PT", "Vou cancelar e mudar para outra operadora.", "leaving"),
]

CLASS_AND_PRAISE_NON_NEGATIVES = [
    ("en", "Fixed in 2 days, very helpful.", "a duration that is praise"),
    ("en", "Thanks! Small thing: the survey link was slow, but whatever.", "a minor remark"),
    ("en", "The refund for the double charge arrived, thanks.", "a refund that arrived"),
    ("it", "Non potrei essere più soddisfatto.", "could not be more satisfied"),
    ("vi", "Chưa bao giờ hài lòng như vậy.", "never so satisfied"),
    ("ca", "Mai havia estat tan content amb un servei.", "never so satisfied"),
    ("hr", "Jedina zamjerka je spora stranica, ali sve ostalo super.", "a minor remark"),
    ("es", "Nunca había estado tan satisfecho, gracias.", "never so satisfied"),
    ("fr", "Petit bémol, l'attente était longue, mais tout est réglé.", "a minor remark"),
    ("de", "Ich war noch nie so zufrieden mit einem Support.", "never so satisfied"),
    ("pt-BR", "Não podia estar mais satisfeito.", "could not be more satisfied"),
    ("de", "Die Erstattung für die doppelte Abbuchung ist angekommen.", "a refund that arrived"),
    ("it", "Non ne sono rimasto affatto deluso.", "four fillers: a clitic, two auxiliaries, an adverb"),
    ("de", "Kein bisschen frustriert.", "not a bit"),
    ("en", "Never once felt frustrated.", "never once"),
    ("pt-BR", "Estava travando há semanas e vocês resolveram numa ligação.", "a long spell, a remedy"),
    # words of complaint phrases that are praise or neutral on their own
    ("vi", "Gói cước hỗn hợp rất tiện.", "hỗn hợp: a combined plan"),
    ("vi", "Được cho thêm một tuần dùng thử, cảm ơn.", "an extra week, as a gift"),
    ("vi", "So với nhà mạng khác thì tốt hơn nhiều.", "better than other carriers"),
    ("pt-BR", "Vim de outra operadora e vocês são bem melhores.", "coming from another provider"),
    ("pt-BR", "Só faltou um detalhe, mas tudo ótimo.", "only a detail was missing"),
    ("de", "Der Mitarbeiter war gut aufgelegt und hilfsbereit.", "gut aufgelegt: in a good mood"),
    ("en", "We went back and forth a bit but got it sorted.", "back and forth"),
    ("en", "I had enough information, thanks.", "had enough"),
    ("it", "Un altro operatore mi ha aiutato subito.", "another agent helped"),
    ("es", "Me pasaron a otro operador que lo resolvió enseguida.", "another agent helped"),
    ("hr", "Drugi operater mi je odmah pomogao.", "another agent helped"),
    ("fr", "Bien mieux que la concurrence.", "better than the competition"),
    ("hr", "Puno bolji od konkurencije.", "better than the competition"),
    ("ca", "Vinc d'una altra companyia i sou molt millors.", "coming from another company"),
    ("en", "Are you going to fix the other one too? Thanks!", "a question, no complaint"),
]


@pytest.mark.parametrize(("locale", "comment", "pattern"), CLASS_AND_PRAISE_NEGATIVES)
def test_waiting_times_negated_praise_and_leaving_are_negative(
    locale: str, comment: str, pattern: str
) -> None:
    assert judge_comment(comment, locale).negative, pattern


@pytest.mark.parametrize(("locale", "comment", "pattern"), CLASS_AND_PRAISE_NON_NEGATIVES)
def test_praise_minor_remarks_and_refunds_received_are_not_negative(
    locale: str, comment: str, pattern: str
) -> None:
    assert not judge_comment(comment, locale).negative, pattern


def test_a_negated_positive_word_is_quoted_as_the_customer_wrote_it() -> None:
    verdict = judge_comment("Pas du tout satisfait.", "fr")

    assert verdict.evidence == ('comment matches "pas ... satisfait" (fr)',)


# ---- the comment model: tone the lexicon has no phrase for ---------------------------------------------


@pytest.fixture
def beeping_model(monkeypatch: pytest.MonkeyPatch) -> CommentModel:
    """A comment model that reads "beeping" as a complaint: what it adds is then plain to see."""
    model = CommentModel(
        {
            "thresholds": {
                "no_phrase": 0.9,
                "phrase_found": 0.5,
                "words_to_overrule": 8,
            },
            "intercept": -2.0,
            "blocks": {"char": {}, "word": {"beeping": [1.0, 6.0], "disappointed": [1.0, 6.0]}},
        }
    )
    monkeypatch.setattr(CommentModel, "default", classmethod(lambda cls: model))
    return model


def test_a_complaint_no_phrase_foresees_is_read_by_the_comment_model(beeping_model: CommentModel) -> None:
    comment = "The inverter beeping at 3am, lovely."

    without_score = judge_answer(comment_answer(comment, "en", score=None), DEFAULTS)
    good_score = judge_answer(comment_answer(comment, "en", score=4), DEFAULTS)

    assert without_score.evidence == ("the comment model reads a complaint (98% likely)",)
    # tone, not an explicit "not solved": it reopens an e-mail reply, and only alerts under a good score
    assert without_score.action is VerdictAction.REOPEN
    assert good_score.action is VerdictAction.ALERT
    assert not judge_comment("The inverter is quiet now.", "en").negative


def test_the_comment_model_never_overrules_a_phrase_the_lexicon_set_aside(
    beeping_model: CommentModel,
) -> None:
    # the lexicon found "disappointed" and read it negated: the model, which sees the word, is not asked
    assert not judge_comment("Not disappointed at all.", "en").negative
    # a phrase the lexicon found is the evidence, in words the lead recognizes
    assert judge_comment("Very disappointed.", "en").evidence[0].startswith("comment matches")


def test_the_comment_model_is_asked_only_where_its_reading_can_change_the_verdict(
    beeping_model: CommentModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    reading = beeping_model.probability
    monkeypatch.setattr(
        beeping_model, "probability", lambda comment: asked.append(comment) or reading(comment)
    )

    assert not judge_comment("Not disappointed at all.", "en").negative  # words set aside stay aside
    assert judge_comment("Still broken.", "en").negative  # a short comment's phrase stands
    assert asked == []
    assert judge_comment("The inverter beeping at 3am, lovely.", "en").negative
    assert asked == ["The inverter beeping at 3am, lovely."]


def test_a_classifier_that_can_judge_replaces_the_comment_models_reading(beeping_model: CommentModel) -> None:
    class Calm:
        def is_negative(self, comment: str, locale: str | None) -> CommentSignal:
            return CommentSignal(negative=False, evidence="calm")

    answer = comment_answer("The inverter beeping at 3am, lovely.", "en")

    assert not judge_answer(answer, DEFAULTS, Calm()).negative


def test_the_comment_model_overrules_a_phrase_only_when_it_reads_a_long_enough_comment_as_happy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a model that reads "bramble" as a happy story's (its weight drives the probability near 0)
    model = CommentModel(
        {
            "thresholds": {
                "no_phrase": 0.85,
                "phrase_found": 0.5,
                "words_to_overrule": 8,
            },
            "intercept": 0.0,
            "blocks": {"char": {}, "word": {"bramble": [1.0, -9.0]}},
        }
    )
    monkeypatch.setattr(CommentModel, "default", classmethod(lambda cls: model))
    story = "The app kept crashing every morning for two weeks in a row; Bramble on the phone was so kind."

    assert not judge_comment(story, "en").negative
    # a comment the model knows nothing of sits at its intercept, 50 %: not below the bar, the phrase stands
    assert judge_comment("The app kept crashing every morning for two weeks in a row.", "en").negative
    # a few words give the model too little to overrule the phrase the lexicon found
    assert judge_comment("Kept crashing. Bramble was kind.", "en").negative
