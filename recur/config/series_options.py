"""SeriesConfig: the options of a numeric-sequence run (classify, regress or forecast), saved as
``config.json["series"]``; the fields set from the data (channels, classes) are not flags."""

from __future__ import annotations

from dataclasses import dataclass

from recur.config.fields import option

LAYOUTS = ("auto", "long", "wide")
FILLS = ("linear", "forward", "zero", "mean")
SCALINGS = ("auto", "series", "global", "none")
TRANSFORMS = ("none", "log")
DISTRIBUTIONS = ("gaussian", "student-t")


@dataclass
class SeriesConfig:
    """What to learn from numeric sequences, how to read them and how to forecast."""

    target: str | None = option(
        None,
        "numeric sequences: classify by this column (labels), or regress these numeric "
        "columns (comma-separated, e.g. y0,y1,y2; a .npy file of targets beside a .npy input)",
    )
    forecast: int = option(0, "numeric sequences: forecast the next H values of every series")
    id_column: str | None = option(
        None, "long layout: the column naming the series each row belongs to"
    )
    time_column: str | None = option(None, "long layout: the column the rows of a series sort by")
    value_columns: str | None = option(
        None,
        "the value columns (channels), comma-separated (default: every numeric column but "
        "the id, time, target and covariate columns)",
    )
    layout: str = option(
        "auto",
        "long: one row per time step (with --id-column, several series); wide: one row per "
        "series; auto: long with --id-column or --forecast, else wide",
        choices=LAYOUTS,
    )
    fill: str = option(
        "linear",
        "how missing values are filled: linear interpolation, forward (last value), zero, "
        "or the series mean",
        choices=FILLS,
    )
    scaling: str = option(
        "auto",
        "standardise each series by its own mean and deviation, all by the training "
        "set's (global), or not at all; undone on every prediction; auto: series when "
        "forecasting, else global",
        choices=SCALINGS,
    )
    transform: str = option(
        "none", "forecasting: log: model the logarithm of positive values", choices=TRANSFORMS
    )
    season: int = option(
        1,
        "forecasting: the seasonal period in steps (12 for monthly data): lag inputs, "
        "calendar features, the seasonal naive baseline and MASE",
    )
    context_length: int = option(
        0, "forecasting: steps of history each training window reads (0: 4 x max(H, season))"
    )
    distribution: str = option(
        "student-t",
        "forecasting: the distribution of each next value (DeepAR's output head)",
        choices=DISTRIBUTIONS,
    )
    calendar: bool = option(
        True, "forecasting: the position in the season (sin, cos) as an input at every step"
    )
    covariates: str | None = option(
        None,
        "forecasting: other columns read as inputs at every step (comma-separated, long "
        "layout); known into the horizon: rows after a series' last value, value empty",
    )
    both_directions: bool = option(True, "classify/regress: read each sequence in both directions")
    differences: bool = option(
        True, "classify/regress: each channel's step-to-step change as an extra input"
    )
    frame: int = option(
        0,
        "classify/regress: consecutive steps read as one input vector, so long sequences "
        "become short ones the recurrent state keeps hold of (0: auto, at most 32 frames)",
    )
    jitter: float = option(
        0.0, "classify/regress: Gaussian noise of this deviation added to scaled training inputs"
    )
    keep: str = option(
        "last",
        "what best/ holds at the end: the last weights (the learning rate has decayed; on a "
        "few dozen validation sequences the best-scoring checkpoint is partly chance) or the "
        "best validation score's",
        choices=("last", "best"),
    )
    forecast_patience: int = option(
        0,
        "forecasting: stop when the validation CRPS (the held-out last H steps, forecast from "
        "several origins) has not improved for N validations; best/ keeps the best weights "
        "(0: never)",
    )
    sample_paths: int = option(200, "forecasting: sample paths drawn per series at prediction")
    calibrate: bool = option(
        True,
        "forecasting: after training, widen or narrow the sample paths around their median "
        "so that 8 in 10 validation steps fall inside the 10-90 percentile interval, with "
        "one factor per step ahead",
    )
    interval_scale: float = option(1.0, "the factor --calibrate found", cli=False)
    horizon_scales: list = option(
        [], "the factor --calibrate found per step ahead (empty: interval_scale)", cli=False
    )
    task: str = option("", "classify | regress | forecast; set from --target/--forecast", cli=False)
    channels: list = option([], "the value columns read; set from the data", cli=False)
    targets: list = option([], "regression targets; set from the data", cli=False)
    class_names: list = option([], "classes; set from the training data", cli=False)
    covariate_columns: list = option([], "covariate columns; set from the data", cli=False)
    lags: list = option([], "forecasting: lags fed as inputs; set from --season", cli=False)
