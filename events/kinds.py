"""What each kind of event needs and what it must produce (domain.md, "Events").

Inputs are what people bring; outputs are what the facilitator records on the event.
Each output has a stable slug (the key it is recorded under) and the domain's label.
The later issues give each kind its own working body; these lists stay its contract.
"""

INPUTS = {
    "planning_1": [
        "The ranked Flow Backlog: epics with WSJF and the Architect's feasibility",
        "Each Scrum Team's capacity for the Flow Sprint",
        "Open dependencies and risks",
    ],
    "team_planning": [
        "The team's claimed epics and stories from Flow Sprint Planning 1",
        "The team's capacity and members' available days",
    ],
    "planning_2": [
        "The preliminary Flow Backlog and the teams' sprint plans",
        "The draft Flow Sprint Goal",
        "Open dependencies and their colours",
    ],
    "daily_scrum": ["The Team Sprint Backlog and its board"],
    "scrum_of_scrums": [
        "The teams' answers to the five questions",
        "Open action plans and improvement items from earlier Scrum of Scrums",
        "The dependency and risk register",
    ],
    "backlog_refinement": ["The team's upcoming epics and stories, ranked"],
    "roadmap_refinement": [
        "The roadmap: milestones and ranked epics",
        "Changes since the last roadmap refinement",
        "Flow metrics",
    ],
    "review": ["The stories done in this Flow Sprint", "The Flow Sprint Goal"],
    "team_retro": ["The team's sprint, its metrics and open action items"],
    "flow_retro": ["Flow metrics of the sprint", "Open improvement items with their age"],
}

OUTPUTS = {
    "planning_1": [
        ("flow_backlog", "Preliminary Flow Backlog: epics and stories claimed by teams"),
        ("register", "Dependency and risk register entries"),
    ],
    "team_planning": [
        ("sprint_backlog", "Team Sprint Backlog: stories, tasks, estimates"),
        ("team_sprint_goal", "Team Sprint Goal"),
    ],
    "planning_2": [
        ("flow_sprint_goal", "Flow Sprint Goal confirmed"),
        ("mitigations", "Mitigation plans for open dependencies"),
    ],
    "daily_scrum": [("impediments", "Impediments raised")],
    "scrum_of_scrums": [
        ("answers", "Each team's answers to the five questions"),
        ("action_plans", "Action plans with owner and due date"),
    ],
    "backlog_refinement": [
        ("stories", "Epics split into stories"),
        ("estimates", "Estimates and acceptance criteria"),
    ],
    "roadmap_refinement": [
        ("epics", "Epics re-scored and re-prioritised"),
        ("milestones", "Milestones validated"),
    ],
    "review": [
        ("demoed", "Demoed stories"),
        ("feedback", "Feedback turned into backlog items"),
        ("reprioritised", "Reprioritised work"),
    ],
    "team_retro": [("action_items", "Action items")],
    "flow_retro": [("improvements", "Prioritised improvement items in the Flow Backlog")],
}

OUTPUT_MAX_CHARS = 5000
