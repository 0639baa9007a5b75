def flow_team(request):
    return {}
