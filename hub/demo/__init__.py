"""A realistic cooperation area to try the hub on: Backa barnet in Ystad.

One tenant, ``ystad`` (Ystads kommun, Region Skåne and Polisen LPO Ystad), with every
kind of unit the model knows, about twenty staff in the model's roles, and as many
children as asked for (two hundred by default). Each child gets a story: the home
visits of a newborn, a discovery card that ends in own support, a Barnteam, an
individual team with a plan, a consent declined, withdrawn, expired or still awaited,
a concern report, a card nobody took up. The stories start over several half-year
terms and run up to the moment of the load, so the evaluation's figures per term,
the Barnkontakt's case list (overdue actions, children with no next step) and the
families' access logs all have something to show.

Everything goes through the hub's own commands, with a :class:`SettableClock` moved
from step to step, in the order the steps happened: the log is what the hub would
have recorded had the cooperation area used it all along. The same seed (and end
date) gives the same people and the same stories.

People are fictional. Their personal identity numbers have correct check digits and
serials from 980 to 999.

The package's parts: the cooperation area (:mod:`.directory`), the words the stories
write (:mod:`.words`), the people and the moments (:mod:`.planner`), one child's steps
(:mod:`.story`), the stories (:mod:`.stories`), the load (:mod:`.loader`), and the data
folder with the demo users' tokens (:mod:`.files`). Only the CLI and the pages' demo
sign-in use the demo; the product's code never imports it.
"""

from __future__ import annotations

from hub.demo.directory import TENANT_ID, TENANT_NAME, demo_directory
from hub.demo.files import (
    DEMO_FOLDER,
    STATE_FILE,
    USERS_FILE,
    DemoFolderError,
    clear_demo_folder,
    demo_folder,
    demo_ready,
    demo_state,
    demo_users,
    has_hub_data,
    is_demo_folder,
    issue_demo_token,
    write_demo_files,
)
from hub.demo.loader import (
    DEFAULT_CHILDREN,
    DEFAULT_SEED,
    DemoLoadError,
    DemoSummary,
    ProgressCallback,
    build_demo_data,
    load_demo,
)
from hub.demo.planner import luhn_check_digit, make_personnummer

__all__ = [
    "DEFAULT_CHILDREN",
    "DEFAULT_SEED",
    "DEMO_FOLDER",
    "STATE_FILE",
    "TENANT_ID",
    "TENANT_NAME",
    "USERS_FILE",
    "DemoFolderError",
    "DemoLoadError",
    "DemoSummary",
    "ProgressCallback",
    "build_demo_data",
    "clear_demo_folder",
    "demo_directory",
    "demo_folder",
    "demo_ready",
    "demo_state",
    "demo_users",
    "has_hub_data",
    "is_demo_folder",
    "issue_demo_token",
    "load_demo",
    "luhn_check_digit",
    "make_personnummer",
    "write_demo_files",
]
