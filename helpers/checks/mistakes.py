"""The catalogue of common mistakes: each family of mistake, and its hint, written once.

A hint is a template: words in braces are filled from the exercise's vocabulary (its `terms`,
e.g. {group} is "unit" for batch norm, "example" for layer norm) and from the mistake's own
switches (e.g. {eps} for a fixed eps). An exercise lists which families it tries
(`exercises.py`); its `variant(case, **switches)` function computes what a student making that
mistake would return, and the runner prints the hint of the first family that matches.

    CATALOGUE   key -> Mistake(hint, versions)
    hint        the hint of one family, filled in
    formula     gamma * (z - mu) / sqrt(var + eps) + beta, with switches for the mistakes
    divisor     what z - mu is divided by: sqrt(var + eps), or a mistaken version of it
"""

from typing import NamedTuple

import numpy as np

__all__ = ["BATCH_NORM_TERMS", "CATALOGUE", "Mistake", "divisor", "formula", "hint"]


class Mistake(NamedTuple):
    """One family of mistakes: its hint, and the switches that reproduce it.

    versions: one dict of switches per version of the mistake (e.g. one per fixed eps tried).
    Situations that are not wrong outputs (an exception, a wrong shape) have no versions.
    """

    hint: str
    versions: tuple = ()


# The batch-norm vocabulary; an exercise overrides what differs (see exercises.py).
BATCH_NORM_TERMS = {
    "x": "z",                          # the input's name
    "group": "unit",                   # what one mean and one variance belong to
    "over": "the batch",               # what they average over
    "axis": "axis=0",                  # ... as an axis
    "stat_shape": "(n,)",              # the shape of mu and var
    "count": "m",                      # how many values one mean averages
    "var": "var",                      # the variance's name in the formula
    "var_call": "np.var(z, axis=0)",   # the right variance, as code
    "method": "Batch norm",
    "other_axis": "axis=1, across the units of one example",  # the wrong axis, described
}

CATALOGUE = {
    # --------------------------------------------------------------- calling the function
    "raised": Mistake("Run your function yourself on a small example and read the traceback."),
    "stub": Mistake("This is still the exercise's stub: replace `raise NotImplementedError()` "
                    "with your code."),
    "signature": Mistake("Keep the function signature given in the exercise, including its "
                         "defaults."),
    "None argument": Mistake("An argument may be None (e.g. X_test=None when there is no test "
                             "set): check for None before computing with it."),
    "broadcast": Mistake("The shapes do not line up. mu and var are per {group}: average over "
                         "{over}, {axis}, giving shape {stat_shape}, which broadcasts against "
                         "{x} of shape (m, n)."),
    "broadcast (backward)": Mistake(
        "The shapes do not line up. Sums over the batch have shape (n,); keep them as (1, n) "
        "with keepdims=True where they are combined with (m, n) arrays."),
    "in place": Mistake("The caller's data must stay untouched. `x = x - mu` makes a new array; "
                        "`x -= mu` (or `x[...] = ...`) overwrites the caller's array."),
    "in place (nudge)": Mistake(
        "work on a copy, b_plus = b.copy(); b_plus[j] += h. Adding h and subtracting it again "
        "does not give back exactly the same float."),
    "not a function": Mistake("pass the function itself, without calling it: "
                              "check(my_function)."),
    "course reference": Mistake("the exercise is to write the function yourself; the checker "
                                "compares it with that reference."),
    "not checkable": Mistake("Return float NumPy arrays of the documented shapes."),

    # --------------------------------------------------------------- what it returned
    "returned None": Mistake("Did you forget the `return` statement? End with `return {names}`."),
    "wrong structure": Mistake("End with `return {names}`."),
    "return None": Mistake("When there is no test set (X_test was None), return None in its "
                           "place."),
    "not an array": Mistake("Compute it with NumPy operations on the input arrays (np.mean, "
                            "np.var, np.sqrt, -, /), which return arrays."),
    "shape": Mistake("Check which axis you averaged over and whether the result keeps that "
                     "axis."),
    "shape: keepdims": Mistake("Drop keepdims=True (or reshape your result): {name} has one "
                               "entry per {group}, shape {shape}."),
    "shape: wrong axis": Mistake("{name} has one entry per {group}: reduce over {over}, {axis} "
                                 "(you reduced over the other axis)."),
    "output None": Mistake(
        "{name} is None: compute it and return the array itself. (A line such as `{name} = "
        "print(...)` or an in-place method like `.sort()` gives None.)"),
    "shape: no axis": Mistake(
        "{name} is a single number: a mean or variance without axis= averages over every "
        "entry. {name} has one entry per {group}: reduce over {over}, {axis}."),
    "wrong order": Mistake(
        "Your values look right but are returned in the wrong order: end with "
        "`return {names}`, in this order."),
    "float32": Mistake(
        "Your formula looks right: the difference is round-off. {name} is {dtype} (about 7 "
        "significant digits) while the inputs are float64 (about 16). Compute in float64: "
        "remove the .astype(np.float32) or dtype=np.float32 (NumPy keeps float64 inputs "
        "float64)."),
    "precision": Mistake(
        "Your result agrees with the expected values to only about {digits} significant digits: "
        "that looks like a precision problem rather than a wrong formula. Look for a step that "
        "loses digits: "
        "a computation in float32, or a variance computed as E[z**2] - E[z]**2 (subtract the "
        "mean first, as np.var does)."),
    "large offset": Mistake(
        "Your function passed the earlier cases but not this one, whose values sit far from 0 "
        "(a mean of about 1e6, a spread of about 1): a precision problem. The usual cause is a "
        "variance computed as E[{x}**2] - E[{x}]**2, which subtracts two huge, nearly equal "
        "numbers; subtract the mean first and average the squared deviations (as np.var "
        "does)."),
    "float32 offset": Mistake(
        "Your function passed the float64 cases but not this float32 one, whose values sit far "
        "from 0 compared to their spread: a precision problem. float32 keeps about 7 significant "
        "digits, and a variance computed as E[{x}**2] - E[{x}]**2 loses most of them here. "
        "Subtract the mean first and average the squared deviations (as np.var does), or "
        "compute in float64 ({x}.astype(np.float64))."),
    "NaN": Mistake("Print your function's intermediate values on a small example to see where the "
                   "first NaN or inf appears."),
    "zero variance": Mistake("When all values of one {group} are equal, its variance is 0 and "
                             "{x} - mu is 0 too: 0 / 0. Divide by np.sqrt(var + eps), with the eps "
                             "your function receives."),
    "batch of one": Mistake("With ONE example, statistics over the batch (axis=0) have variance "
                            "0: layer norm averages over the units of each example, axis=1."),
    "batch of one at inference": Mistake(
        "A batch of one example has variance 0: normalize with running_mean and running_var, "
        "never with the batch's statistics."),
    "NaN (backward)": Mistake("Use the arrays of the cache as they are: inv_std = "
                              "1 / sqrt(var + eps) is finite even for a unit of constant values."),
    "empty selection": Mistake("When no value (or only one) reaches the target, the width is 0.0; "
                               "check for an empty selection before max/min."),

    # --------------------------------------------------------------- mu, var, eps (01, 02, 05, 08)
    "unbiased variance": Mistake(
        "You used the unbiased variance (ddof=1, dividing by {count} - 1). Use the population "
        "variance, {var_call} with the default ddof=0 (divide by {count}), as batch norm, layer "
        "norm and TensorFlow do.", ({"ddof": 1},)),
    "wrong axis": Mistake(
        "The statistics were computed over the wrong axis ({other_axis}). {method} takes one mean "
        "and one variance per {group}, over {over}: {axis}, shape {stat_shape}.",
        ({"wrong_axis": True},)),
    "keepdims lost": Mistake(
        "Your per-example statistics lost their axis: mu = z.mean(axis=1) has shape (m,), and "
        "z - mu then subtracts example i's mean from UNIT i. Keep the axis: "
        "z.mean(axis=1, keepdims=True) has shape (m, 1) and lines up with the rows.",
        ({"keepdims": False},)),
    "no axis": Mistake(
        "Your mean and variance have no axis: np.mean({x}) and np.var({x}) without axis= "
        "average over EVERY entry, giving one number for the whole array. {method} takes one "
        "mean and one variance per {group}, over {over}: pass {axis}.", ({"no_axis": True},)),
    "variance from moments": Mistake(
        "Your variance is computed as E[{x}**2] - E[{x}]**2 (mean of squares minus the squared "
        "mean). That is right on paper but loses precision when the mean is large compared to "
        "the spread, as in this case: two huge, nearly equal numbers are subtracted. "
        "Subtract the mean first and average the squared deviations, np.mean(({x} - mu)**2, "
        "...), as np.var does.", ({"variance": "moments"},)),
    "eps outside sqrt": Mistake(
        "eps is outside the square root: divide by np.sqrt({var} + eps), not "
        "np.sqrt({var}) + eps.", ({"spread": "sqrt(var) + eps"},)),
    "eps missing": Mistake(
        "eps is missing (or much smaller than the eps argument): divide by np.sqrt({var} + eps) "
        "with the eps your function receives. eps keeps a variance of (almost) zero from "
        "becoming a division by (almost) zero.", ({"eps": 0.0},)),
    "eps fixed": Mistake(
        "eps was not taken from the argument: eps was fixed at {eps:g}. Use the eps your "
        "function receives.", ({"eps": 1e-5}, {"eps": 1e-3})),  # ours, Keras' default
    "divided by variance": Mistake(
        "You divided by the variance. Divide by the standard deviation, np.sqrt({var} + eps).",
        ({"spread": "var + eps"},)),
    "not divided by std": Mistake(
        "You did not divide by the standard deviation: {x}_norm = ({x} - mu) / "
        "np.sqrt(var + eps), so that every {group} has variance 1.", ({"spread": "1"},)),
    "mean not subtracted": Mistake(
        "The mean was not subtracted: {x}_norm = ({x} - mu) / np.sqrt(var + eps), so that every "
        "{group} is centred at 0.", ({"centre": False},)),
    "returned z_norm": Mistake(
        "You returned z_norm. Finish with z_tilde = gamma * z_norm + beta: gamma and beta give "
        "each unit the mean and spread the network learns.", ({"output": "z_norm"},)),
    "gamma and beta swapped": Mistake(
        "gamma and beta are swapped: gamma is the scale (it multiplies z_norm) and beta the shift "
        "(it is added), z_tilde = gamma * z_norm + beta.", ({"swap": True},)),
    "test set own statistics": Mistake(
        "X_test was normalized with its own mean and variance. Normalize the test set with the "
        "TRAINING set's mu and sigma: the model was trained on that transformation, and a test "
        "set's own statistics depend on which examples happen to be in it (one example alone "
        "has variance 0).", ({"test_statistics": "own"},)),
    "train and test statistics": Mistake(
        "mu and sigma were computed from X_train and X_test together. The test set must not "
        "shape the normalization: it stands for data the model has never seen. Compute mu and "
        "sigma from X_train alone and use those same numbers for X_test.",
        ({"test_statistics": "combined"},)),
    "min-max scaling": Mistake(
        "That is min-max scaling: it maps each {group} to [0, 1] using its smallest and largest "
        "values, so one outlier decides the scale. This exercise standardizes: each {group} "
        "should end up with mean 0 and variance 1 (use its mean and standard deviation).",
        ({"scaling": "min-max"},)),
    "test set transformation": Mistake(
        "Your X_train_norm is right but X_test_norm is not. The test set must go through exactly "
        "the transformation the training set went through: the same mu and sigma, computed from "
        "X_train alone (statistics that involve X_test leak it into the model's input)."),
    "statistics returned": Mistake(
        "Return mu = the training mean per feature and sigma = np.sqrt(var + eps), the numbers "
        "you divided by, each of shape (n,)."),
    "batch statistics at inference": Mistake(
        "You normalized with the batch's own mean and variance. At test time use the running "
        "averages, (z - running_mean) / sqrt(running_var + eps): then an example's output does "
        "not depend on the other examples, and a batch of one works.",
        ({"statistics": "batch"}, {"statistics": "batch", "ddof": 1})),

    # --------------------------------------------------------------- identity (03)
    "eps missing from gamma": Mistake(
        "eps is missing from gamma: batch norm divided by np.sqrt(var + eps), so gamma must be "
        "exactly that number to undo it.", ({"eps": 0.0},)),
    "gamma is the variance": Mistake(
        "gamma must be the standard deviation sqrt(var + eps), not the variance.",
        ({"spread": "var + eps"},)),

    # --------------------------------------------------------------- numerical gradient (03)
    "forward difference": Mistake(
        "That is a one-sided (forward) difference, (f(b + h) - f(b)) / h, whose error is about h. "
        "Use the centred difference (f(b + h) - f(b - h)) / (2 h): error about h**2.",
        ({"difference": "forward"},)),
    "divided by h": Mistake(
        "You divided by h; the two points b + h and b - h are 2 h apart: divide by 2 h.",
        ({"divide_by": "h"},)),
    "nudged all entries": Mistake(
        "Every entry holds the same number: you nudged all entries of b at once. Nudge one entry "
        "j at a time (a vector that is h at j and 0 elsewhere).", ({"nudge": "all"},)),
    "sign flipped": Mistake(
        "The sign is flipped: (f(b + h) - f(b - h)) / (2 h), the value at b + h first.",
        ({"sign": -1},)),

    # --------------------------------------------------------------- backward pass (04)
    "dgamma and dbeta swapped": Mistake(
        "dgamma and dbeta are swapped: dbeta = sum of dz~ over the batch (beta is added), "
        "dgamma = sum of dz~ * z_norm (gamma multiplies z_norm).", ({"swap": True},)),
    "both branches missing": Mistake(
        "The paths through mu and through var are both missing: your dz is only the direct "
        "path, as if mu and var were constants. But every z moves its unit's mu and var. Walk "
        "the rest of the graph: step 5's dinv_std, step 4's dvar, step 3's term from dvar in "
        "dcentered, and step 1's contribution of dmu to dz.",
        ({"mean_branch": False, "var_branch": False},)),
    "mean branch missing": Mistake(
        "The path through mu is missing: dz lacks the contribution of dmu. z moves mu (step 1), "
        "and mu moves every centered value of its unit (step 2). Check step 2's dmu, which "
        "collects the gradient of every example of the batch, and that step 1 hands each "
        "example its share of it and adds that to dz.", ({"mean_branch": False},)),
    "variance branch missing": Mistake(
        "The path through var is missing: dcentered lacks the term from dvar. var is the mean "
        "of centered**2 (step 3), so each centered value also reaches the loss through var and "
        "inv_std. Check steps 5 and 4 (dinv_std collected over the batch, then dvar) and that "
        "step 3 adds the term from dvar to dcentered before step 2 uses it.",
        ({"var_branch": False},)),
    "gamma missing from dz": Mistake(
        "gamma is missing from dz: z~ = gamma * z_norm + beta, so the gradient reaching z_norm is "
        "dz_norm = gamma * dz~, not dz~ itself.", ({"gamma_in_dz": False},)),
    "sums over the wrong axis": Mistake(
        "The sums in dz run over the wrong axis (axis=1, across the units of one example). mu and "
        "var are averages over the batch: sum dz_norm over axis=0, with keepdims=True so the "
        "(1, n) result broadcasts against (m, n).", ({"axis": 1},)),
    "inv_std twice": Mistake(
        "You divided by sqrt(var + eps) twice (or multiplied by the variance's inverse): inv_std "
        "in the cache is already 1 / sqrt(var + eps).", ({"inv_std_twice": True},)),

    # --------------------------------------------------------------- running averages (05)
    "momentum reversed": Mistake(
        "The momentum is reversed: in Keras and in the lecture's exponentially weighted average "
        "momentum is the weight of the OLD value, new = momentum * old + (1 - momentum) * batch. "
        "(PyTorch's BatchNorm momentum means the opposite: its 0.1 is our 0.9.)",
        ({"momentum": "reversed"},)),
    "std instead of variance": Mistake(
        "You averaged the standard deviation; running_var is an average of variances.",
        ({"statistic": "std"},)),
    "momentum fixed": Mistake(
        "momentum was fixed at {momentum:g}: use the momentum your function receives.",
        ({"momentum": 0.9},)),
    "batch statistics alone": Mistake(
        "You returned the batch statistics alone: the running averages must remember the past, "
        "new = momentum * old + (1 - momentum) * batch.", ({"returned": "batch"},)),
    "old statistics unchanged": Mistake(
        "You returned the old running statistics unchanged: blend in the batch's, "
        "new = momentum * old + (1 - momentum) * batch.", ({"returned": "old"},)),
    "eps in running variance": Mistake(
        "You added eps to the variance before averaging it: running_var must average the "
        "batch variances themselves. eps belongs to the division, np.sqrt(running_var + eps), "
        "when the running statistics are used at test time.",
        ({"eps_in_var": 1e-5}, {"eps_in_var": 1e-3})),
    "no axis (running)": Mistake(
        "Your batch mean and variance have no axis: z.mean() and z.var() average over every "
        "entry, giving one number for all units. The running statistics keep one value per "
        "unit: average z over the batch, axis=0.", ({"no_axis": True},)),
    "running statistics swapped": Mistake(
        "running_mean and running_var are swapped in your return statement.", ({"swap": True},)),

    # --------------------------------------------------------------- range width (06)
    "natural log": Mistake("Decades are powers of 10: use np.log10, not np.log (natural log).",
                           ({"log": "natural"},)),
    "strict comparison": Mistake("Runs whose accuracy equals the target reach it too: keep "
                                 "accuracies >= target.", ({"strict": True},)),
    "count instead of width": Mistake(
        "That is the number of grid values that reach the target, not the width of their range "
        "in decades: log10(largest) - log10(smallest).", ({"width": "count"},)),
    "first and last": Mistake(
        "The grid need not be sorted: take the largest and smallest values (max and min), not the "
        "last and first.", ({"ends": "last and first"},)),

    # --------------------------------------------------------------- the right formulas
    "formula: input normalization": Mistake(
        "Each feature of X_train should end up with mean 0 and variance 1: subtract its "
        "training mean mu and divide by sigma = np.sqrt(var + eps), with mu and var over the "
        "training examples (axis=0)."),
    "formula: batch norm": Mistake(
        "Compare your code with the four steps: mu, var, z_norm = (z - mu) / np.sqrt(var + eps), "
        "z_tilde = gamma * z_norm + beta."),
    "formula: layer norm": Mistake(
        "Compare your code with mu = z.mean(axis=1, keepdims=True), var likewise, "
        "z_norm = (z - mu) / np.sqrt(var + eps), z_tilde = gamma * z_norm + beta."),
    "formula: inference": Mistake(
        "z_tilde = gamma * (z - running_mean) / np.sqrt(running_var + eps) + beta."),
    "formula: identity": Mistake(
        "gamma must undo the division by sqrt(var + eps) and beta the subtraction of mu."),
    "formula: centred difference": Mistake(
        "grad[j] = (f(b + h e_j) - f(b - h e_j)) / (2 h), one entry j at a time."),
    "formula: backward": Mistake(
        "{wrong} differ from the gradient. Follow the derivation: dbeta = sum(dz~), "
        "dgamma = sum(dz~ * z_norm), dz_norm = gamma * dz~, dz = inv_std / m * (m * dz_norm - "
        "sum(dz_norm) - z_norm * sum(dz_norm * z_norm))."),
    "formula: running averages": Mistake(
        "mu and var of the batch over axis=0 (biased variance), then "
        "new = momentum * old + (1 - momentum) * batch for each."),
    "formula: range width": Mistake(
        "Keep the grid values whose accuracy is >= target, then log10(largest) - "
        "log10(smallest); 0.0 if at most one value is kept."),

    # --------------------------------------------------------------- Keras port (07)
    "keras: model": Mistake("Build a keras.Sequential (or keras.Model) and return it."),
    "keras: weight shape": Mistake(
        "A weight has the wrong shape. Keras' kernel has our layout (n_in, n_out): assign W as it "
        "is, no transpose. A Dense layer right before batch norm has no bias (use_bias=False), and "
        "BatchNormalization's weights are [gamma, beta, moving_mean, moving_variance], each of "
        "shape (n[l],)."),
    "keras: layer count": Mistake(
        "Per hidden layer Dense -> BatchNormalization -> Activation, then one Dense output layer "
        "(logits, no activation)."),
    "keras: bias before BN": Mistake(
        "BN subtracts the batch mean, which cancels any bias, so our network has no b{l} and "
        "beta{l} is the shift: use Dense(..., use_bias=False)."),
    "keras: frozen BN": Mistake(
        "In Keras 3 a frozen BN layer always runs in inference mode (moving statistics), even in "
        "model(X, training=True) or fit: leave trainable=True."),
    "keras: center and scale": Mistake(
        "Keep both True: scale is gamma{l} and center is beta{l}."),
    "keras: default epsilon": Mistake(
        "Keras' default epsilon is 1e-3; ours is net.eps = {eps:g}: pass epsilon=net.eps."),
    "keras: fixed epsilon": Mistake(
        "Use this network's eps: epsilon=net.eps ({eps:g}), not a fixed number."),
    "keras: momentum reversed": Mistake(
        "The momentum is reversed. Keras' momentum means what ours means (new = momentum * old + "
        "(1 - momentum) * batch): pass momentum=net.momentum ({momentum:g}), not 1 - momentum "
        "(that is PyTorch's convention)."),
    "keras: default momentum": Mistake(
        "Keras' default momentum 0.99 was left in: pass momentum=net.momentum ({momentum:g})."),
    "keras: momentum": Mistake(
        "Pass momentum=net.momentum ({momentum:g}); Keras' momentum means what ours means."),
    "keras: output bias": Mistake(
        "The output layer is not followed by batch norm, so it keeps its bias b{L}: "
        "use_bias=True (the default)."),
    "keras: transposed kernel": Mistake(
        "It holds W transposed. Keras' kernel has our layout, (n_in, n_out) with examples along "
        "axis 0: assign W as it is, no transpose."),
    "keras: kernel": Mistake("Set the kernel to params['W{l}'] (shape {shape}, no transpose)."),
    "keras: output bias value": Mistake("Set it to params['b{L}']."),
    "keras: gamma and beta": Mistake(
        "Set gamma to params['gamma{l}'] (the scale) and beta to params['beta{l}'] (the shift)."),
    "keras: statistics not copied": Mistake(
        "The moving statistics were not copied: they are still Keras' initial values (mean 0, "
        "variance 1). Set moving_mean to state['running_mean{l}'] and moving_variance to "
        "state['running_var{l}']: inference mode uses them."),
    "keras: statistics swapped": Mistake(
        "moving_mean and moving_variance are swapped. BatchNormalization's weights are ordered "
        "[gamma, beta, moving_mean, moving_variance]."),
    "keras: statistics": Mistake(
        "Set moving_mean to state['running_mean{l}'] and moving_variance to "
        "state['running_var{l}']."),
    "keras: input shape": Mistake("The model's input shape is (n_x,) = ({n_x},)."),
    "keras: batch statistics at inference": Mistake(
        "Your model normalizes with the batch's own statistics even when called with "
        "training=False. Do not fix training=True when calling a layer: Keras passes the model's "
        "training flag on to every BatchNormalization layer."),
    "keras: training default": Mistake(
        "Called plainly, as model.predict and most code call it, your model normalizes with the "
        "batch's own statistics: its training flag defaults to True (e.g. `def call(self, x, "
        "training=True)`). Default it to None (or False), so that only fit and "
        "model(X, training=True) use batch statistics."),
    "keras: moving statistics in training": Mistake(
        "In training mode your model used the moving statistics: the training flag does not reach "
        "batch norm. Do not fix training=False when calling a layer, and do not freeze BN "
        "(trainable=False); training=True must use the batch's mean and variance."),
    "keras: layer order": Mistake(
        "Check the order of the layers, Dense (no bias) -> BatchNormalization -> "
        "Activation(net.activation) per hidden layer, and an output Dense without activation (it "
        "returns logits)."),
}


def hint(key, terms=None, note="", own=None, **values):
    """The hint of the family `key`, filled from the exercise's terms and the given values.

    own: the exercise's own families (key -> Mistake), looked up before the catalogue.
    """
    template = (own or {}).get(key) or CATALOGUE[key]
    return template.hint.format(**{**BATCH_NORM_TERMS, **(terms or {}), **values}) + note


# ----------------------------------------------------------------------------- the formula
def divisor(var, eps, kind="sqrt(var + eps)"):
    """What z - mu is divided by: the right sqrt(var + eps), or one of its common mistakes."""
    return {
        "sqrt(var + eps)": lambda: np.sqrt(var + eps),
        "sqrt(var) + eps": lambda: np.sqrt(var) + eps,
        "var + eps": lambda: var + eps,
        "1": lambda: 1.0,
    }[kind]()


def formula(z, gamma=1.0, beta=0.0, eps=1e-5, *, axis=0, stats_of=None, mu=None, var=None,
            ddof=0, wrong_axis=False, keepdims=True, centre=True, spread="sqrt(var + eps)",
            swap=False, output="z_tilde", no_axis=False, variance="two-pass",
            scaling="standard"):
    """gamma * (z - mu) / sqrt(var + eps) + beta: batch norm (axis=0), layer norm (axis=1), or
    input normalization (gamma = 1, beta = 0), with switches that reproduce the common mistakes.

    mu, var: given statistics (running averages); else computed from stats_of (default z) over
    `axis`, or over the other axis of a 2-D array with wrong_axis=True, or over every entry with
    no_axis=True (np.mean(z) without axis=).
    The other switches are the catalogue's: ddof; keepdims; centre=False (the mean not
    subtracted); spread (see divisor); swap (gamma and beta); output="z_norm" (no scale, shift);
    variance="moments" (E[z**2] - E[z]**2, which loses precision far from 0);
    scaling="min-max" ((z - min) / (max - min)).
    """
    source = z if stats_of is None else stats_of
    axis = None if no_axis else (1 - axis if wrong_axis else axis)
    if scaling == "min-max":
        low = source.min(axis=axis, keepdims=True)
        return gamma * (z - low) / (source.max(axis=axis, keepdims=True) - low) + beta
    if mu is None or var is None:
        count = source.size if axis is None else source.shape[axis]
        ddof = min(ddof, count - 1)  # ddof=1 on one value would divide by 0
        mu = source.mean(axis=axis, keepdims=keepdims)
        if variance == "moments":
            var = ((source ** 2).mean(axis=axis, keepdims=keepdims) - mu ** 2) * count / (
                count - ddof)
        else:
            var = source.var(axis=axis, ddof=ddof, keepdims=keepdims)
    z_norm = ((z - mu) if centre else z) / divisor(var, eps, spread)
    if output == "z_norm":
        return z_norm
    if swap:
        gamma, beta = beta, gamma
    return gamma * z_norm + beta
