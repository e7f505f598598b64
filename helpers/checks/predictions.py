"""The predict-then-run questions of notebooks 01-09: each question, its accepted answers and why.

A notebook asks a question before the experiment that answers it; the student sets a variable,
and the graded cell calls helpers.checks.check_prediction(question_id, answer), which looks the
question up here (see questions.py for how answers are compared and what is printed).

Each entry (plain data, no imports):
    "question_id": {                 # snake_case, unique
        "notebook": "05",
        "question": "the question, as asked in the notebook",
        # EITHER a choice question: accepted answer -> None if right, else the feedback for it
        "choices": {"narrower": None, "wider": "why that is wrong", "the same": "why ..."},
        # OR a number question: the accepted closed interval and feedback outside it
        # "range": (0.4, 0.6), "unit": "", "too_low": "...", "too_high": "...",
        "explanation": "shown after any answer: the reasoning, 1-3 sentences",
    },
"""

PREDICTIONS = {
    # ---- 01 input normalization
    "raw_vs_normalized_steps": {
        "notebook": "01",
        "question": "Started from the same model (w = 0, b = the mean target), each run at the "
                    "same fraction of its own largest stable learning rate: how many times as "
                    "many gradient-descent steps do the raw features need as the normalized "
                    "ones to get within tol of the minimum?",
        "choices": {
            "about as many": "The two problems have the same minimum, but not the same bowl: "
                             "the raw condition number is millions of times the normalized "
                             "one, and the number of steps grows with it.",
            "tens of times": "The number of steps grows roughly like the condition number, and "
                             "the raw one (about 2.5e7) is millions of times the normalized one "
                             "(about 1.6): tens of times is far too few.",
            "thousands of times": "Closer, but the number of steps grows roughly like the "
                                  "condition number itself, and the raw one (about 2.5e7) is "
                                  "millions of times the normalized one (about 1.6).",
            "millions of times": None,
        },
        "explanation": "The learning rate is capped by the steepest direction (2 / lambda_max), "
                       "and at 90% of that cap the flattest direction keeps about 1 - 1.8 / kappa "
                       "of its error per step, so the number of steps grows roughly like the "
                       "condition number kappa, which is about 2.5e7 for the raw features and 1.6 "
                       "for the normalized ones. From that start the exact counts printed below "
                       "(computed; the raw run itself stops at its budget of steps) are "
                       "65,820,552 steps against 25, about 2.6 million times as many.",
    },

    # ---- 02 batch norm forward
    "almost_dead_unit_without_eps": {
        "notebook": "02",
        "question": "A unit is 0 for every example of the batch but one, which has a tiny "
                    "positive value. Normalized with its batch mean and variance and no eps, is "
                    "that example's z_norm close to 0, about 1, or much larger than 1?",
        "choices": {
            "close to 0": "Normalizing divides by the unit's own standard deviation, and that "
                          "is tiny too: the tiny value is not kept small, its scale cancels.",
            "about 1": "The one nonzero value carries all of the unit's variance, so it lies "
                       "many standard deviations from the batch mean, not one.",
            "much larger than 1": None,
        },
        "explanation": "Without eps, dividing by the unit's own standard deviation cancels the "
                       "size of the values: one nonzero example among m lands at sqrt(m - 1) "
                       "standard deviations from the mean, 11.27 for m = 128, whether its value "
                       "is 1e-4 or 100. Noise is blown up to look like signal. With eps = 1e-5 "
                       "inside the square root the unit's tiny variance is swamped by eps and the "
                       "value stays small (0.031).",
    },
    "tanh_saturation_at_gamma_1": {
        "notebook": "02",
        "question": "With gamma = 1 and beta = 0, what share of tanh's inputs z~ fall where tanh "
                    "is saturated (|z~| > 1.21, slope below 30% of its maximum)?",
        "choices": {
            "almost none": "That holds for the sigmoid, whose threshold (2.42) is twice as far "
                           "out. z~ has standard deviation 1 here, and 1.21 standard deviations "
                           "is not far into the tails.",
            "about a quarter": None,
            "about half": "Values beyond 1.21 standard deviations are in the tails of a bell-"
                          "shaped distribution: about a quarter, not half.",
            "nearly all": "With standard deviation 1, most values of z~ lie within one standard "
                          "deviation of 0, inside tanh's unsaturated region.",
        },
        "explanation": "With gamma = 1 and beta = 0, z~ is z_norm: mean 0 and standard deviation 1 "
                       "per unit. For a bell-shaped distribution about 23% of the values lie "
                       "beyond 1.21 standard deviations (22.6% for a normal one); the table below "
                       "measures 24.0% on this batch, against 1.2% for the sigmoid, whose "
                       "threshold is twice as far out. So BN with gamma = 1 keeps a sigmoid "
                       "nearly linear, but not tanh.",
    },

    # ---- 03 gamma, beta and the identity
    "db_under_bn": {
        "notebook": "03",
        "question": "A dense layer z = x @ W + b is followed by batch norm. Compared with the "
                    "same layer without BN, how large is the gradient of the loss with respect "
                    "to b?",
        "choices": {
            "zero": None,
            "smaller but not zero": "b_j is added to every example of unit j, so the batch "
                                    "mean moves by exactly b_j and z - mu does not change at "
                                    "all: not a little, not at all.",
            "about the same": "BN's first step subtracts the batch mean, which moves with b by "
                              "exactly as much as every example does: z~, and any loss "
                              "computed from it, does not depend on b.",
            "larger": "BN's first step subtracts the batch mean, which moves with b by exactly "
                      "as much as every example does: z~, and any loss computed from it, does "
                      "not depend on b.",
        },
        "explanation": "b_j is added to every example of unit j, so it raises the batch mean "
                       "mu_j by exactly b_j and z - mu is unchanged (the variance ignores a "
                       "shift too). z~ and every loss computed from it do not depend on b, so "
                       "db = 0, up to round-off, with BN, while without BN db is the sum of dz~ "
                       "over the batch. So b is dropped and beta becomes the unit's shift.",
    },

    # ---- 04 batch norm in a deep network
    "bn_final_training_loss": {
        "notebook": "04",
        "question": "After the same epochs, batches and learning rates, is the final BN "
                    "network's loss on the whole training set (inference mode) lower than the "
                    "plain network's (by more than a fifth), about the same (within a fifth), or "
                    "higher (by more than a fifth)?",
        "choices": {
            "lower with BN": "That is BN's reputation, but this network is small and its inputs "
                             "are already normalized: the BN network ends with the higher "
                             "training loss, for every optimizer and seed below.",
            "about the same": "The gap is systematic: the BN network's training loss is higher "
                              "for every optimizer and seed below, while their validation "
                              "accuracies are about the same.",
            "higher with BN": None,
        },
        "explanation": "Higher, for every optimizer and every seed (20 of 20 pairs below; "
                       "gradient descent: 0.143 with BN, 0.081 without). BN does not promise a "
                       "lower training loss after a fixed number of epochs: on this small, "
                       "well-conditioned problem (normalized inputs, three hidden layers of 32 "
                       "units) the BN network fits the training set less tightly in the same "
                       "epochs at these learning rates, while its validation accuracy is about "
                       "the same (a little higher on average). Where BN helps more, with deeper "
                       "networks and larger learning rates, is notebook 06's subject.",
    },

    # ---- 05 mini-batches and inference
    "noise_spread_16_to_64": {
        "notebook": "05",
        "question": "When the batch size grows from m = 16 to m = 64, by what factor is the "
                    "spread of one example's z_norm over random batches multiplied?",
        "range": (0.4, 0.65),
        "unit": "",
        "too_low": "A factor near 0.25 would mean the spread shrinks like 1/m. The batch mean is "
                   "an average of m values (and the batch standard deviation is estimated from "
                   "the same m values); the spread of such an estimate shrinks like 1/sqrt(m), "
                   "not like 1/m.",
        "too_high": "Four times as many examples make the batch mean and standard deviation vary "
                    "much less from batch to batch. (A factor near 1/sqrt(2) = 0.71 is what one "
                    "doubling of m gives; 16 to 64 is two doublings.)",
        "explanation": "The batch mean is an average of the batch's m values and the batch "
                       "standard deviation is estimated from the same m values; the spread of "
                       "such estimates over random batches shrinks like 1/sqrt(m): four times "
                       "the batch size, about half the spread. The table below measures a "
                       "factor close to 0.5.",
    },
    "batch_of_ones_recognised": {
        "notebook": "05",
        "question": "A batch made only of 32 validation images of the digit 1, predicted with "
                    "batch statistics (as in training): what percentage of them is recognised "
                    "as ones?",
        "range": (0, 30),
        "unit": "%",
        "too_low": "A percentage cannot be negative.",
        "too_high": "With batch statistics every unit is centred on the batch's own mean and "
                    "scaled by its own spread. In a batch of ones that mean is what the ones have "
                    "in common, so much of what sets a one apart from the other digits is removed "
                    "before the next layer sees it; mostly the differences among these ones are "
                    "left.",
        "explanation": "Batch statistics describe the batch, not the data the network was trained "
                       "on: in a batch of ones the mean of every unit is the ones' mean, so "
                       "subtracting it erases much of the evidence for 'one'. The next cell "
                       "recognises only a few of them, against almost all with running "
                       "statistics.",
    },

    # ---- 06 why batch norm works
    "shifted_accuracy_without_reestimation": {
        "notebook": "06",
        "question": "At shift strength s = 1, how does the BN network's test accuracy with the "
                    "statistics from training compare with its accuracy on clean images: about "
                    "the same (within 2 points), a few points lower (2 to 10), or much lower "
                    "(more than 10)?",
        "choices": {
            "about the same": "BN normalizes with batch statistics only in training. At test time "
                              "it uses the running statistics collected on the old camera, so it "
                              "does not adapt to the new images by itself.",
            "a few points lower": "The shift is not small: every pixel is brightened and many are "
                                  "clipped at white, so the inputs of layer 1 move far from the "
                                  "mean and spread its running statistics were collected on, and "
                                  "every layer above receives inputs unlike those it was trained "
                                  "on.",
            "much lower": None,
        },
        "explanation": "In inference mode a BN layer normalizes with fixed running statistics, "
                       "those of the images it was trained on. The over-exposed images shift and "
                       "squeeze every unit's input, so layer 1 normalizes them to the wrong mean "
                       "and spread, and the layers above see inputs they never saw in training. "
                       "The next cell shows a drop of tens of points on every seed, on average "
                       "larger than that of the network without BN.",
    },

    # ---- 07 batch norm in TensorFlow
    "plain_call_statistics": {
        "notebook": "07",
        "question": "A keras.layers.BatchNormalization layer called with no training argument, "
                    "layer(z): does it normalize with the batch statistics or the moving "
                    "statistics, or does it raise an error?",
        "choices": {
            "batch statistics": "Batch statistics are what training=True (and fit) uses. A call "
                                "without the argument is the way predictions are made, and "
                                "predictions must not depend on the other examples of the batch.",
            "moving statistics": None,
            "an error": "The training argument is optional: Keras picks a mode when it is "
                        "missing.",
        },
        "explanation": "With no training argument Keras runs the layer in inference mode: it "
                       "normalizes with moving_mean and moving_variance and leaves them "
                       "unchanged, as predict and a plain model(x) do. Only training=True, which "
                       "fit passes, uses the batch's statistics and updates the moving ones.",
    },

    # ---- 08 beyond batch norm
    "inference_beats_training_mode_at_m2": {
        "notebook": "08",
        "question": "The BN networks trained with batches of 2 classify the test set better in "
                    "inference mode (running statistics) than in training mode (test batches of "
                    "2, each normalized with its own statistics). Why? (a) the running variance "
                    "corrects the (m - 1) / m bias of batch variances; (b) in training mode each "
                    "test example's z_norm is (up to eps) +1 or -1 in every unit, set by which "
                    "of the two examples is larger, while inference mode normalizes every "
                    "example with the same fixed statistics and keeps its actual values; (c) "
                    "inference mode averages over more test examples at once.",
        "choices": {
            "a": "The running variance that training stores is an average of BIASED batch "
                 "variances, so it keeps the (m - 1) / m bias; and the unbiased one does no "
                 "better (the table shows it).",
            "b": None,
            "c": "Inference mode uses no statistics of the test examples at all: each example "
                 "is normalized with the running statistics, on its own.",
        },
        "explanation": "With two examples the batch mean lies halfway between them and the batch "
                       "standard deviation equals half their distance, so every z_norm is (up to "
                       "eps) +1 or -1: a unit passes on only which of the two is larger, and "
                       "which one that is depends on the random partner. With running "
                       "statistics each example keeps its real-valued z_norm, whatever the rest "
                       "of the test set is.",
    },

    # ---- 09 batch norm in practice
    "reestimation_after_finetuning": {
        "notebook": "09",
        "question": "Fine-tuned on the new camera's 64 images with BN in training mode, the "
                    "network does worse on the original images. Keep its fine-tuned weights and "
                    "only re-estimate BN's statistics on the original training images: on "
                    "average over the seeds, how many of the points lost on the original images "
                    "come back?",
        "choices": {
            "most of them": None,
            "less than half": "That would put most of the damage in the weights. But the 80 "
                              "fine-tuning steps at Adam's small learning rate (0.001) move the "
                              "weights only a little, while BN's running averages forget the "
                              "original statistics within a few dozen steps: the statistics "
                              "carry most of the damage.",
            "none of them": "That would mean the weights alone did the damage. In training "
                            "mode BN also replaced its running mean and variance by the new "
                            "camera's, so the original images are normalized as if they came "
                            "from the new camera; restoring those statistics repairs most of it.",
        },
        "explanation": "Most of them come back (about three quarters on average here: compare "
                       "the re-estimated line with the table). In training mode the running "
                       "averages (momentum 0.9) follow the new camera's batches of 4, and after "
                       "80 steps almost nothing of the original statistics is left (0.9 ** 80 is "
                       "about 2e-4), while Adam at a learning rate of 0.001 moves the weights "
                       "only a little. The fine-tuned network normalizes every input as if it "
                       "came from the new camera; re-estimating the statistics undoes that part, "
                       "and what remains is what the weights changed.",
    },
}
