"""detgrid.Project: placeholder replaced below."""


class Project:
    pass
