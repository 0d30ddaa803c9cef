"""The background tail: the array form used for whole batches agrees with the one-value form."""

import numpy as np

from matcher.calibrate import Background, default_topic_tail, fit_tail


def test_the_batch_form_of_a_tail_gives_the_same_rates_as_one_value_at_a_time():
    rng = np.random.default_rng(7)
    tails = [fit_tail(rng.normal(0.2, 0.1, 1000)), fit_tail(rng.normal(3, 1, 40))]
    for tail in [*tails, default_topic_tail("social"), default_topic_tail("news")]:
        values = np.concatenate([rng.uniform(-0.5, 1.5, 300), tail.values[:25], [tail.start]])
        one_by_one = [tail.rate(float(v)) for v in values]
        # equal to the last bit or two: numpy's vectorised exp may round the last bit
        # differently from the scalar one on some CPUs (seen on a CI machine)
        np.testing.assert_allclose(tail.rates(values), one_by_one, rtol=1e-13, atol=0)


def test_topic_information_grows_with_closeness_and_never_drops_below_zero():
    background = Background()
    cosines = np.array([-0.2, 0.1, 0.3, 0.5, 0.7, 0.9])
    info = background.topic_infos("any-brief", "social", cosines)
    assert (np.diff(info) >= 0).all() and (info >= 0).all()
    assert info[-1] == background.topic_info("any-brief", "social", 0.9)
