"""Extension objects, created unbound here and bound to an app in `create_app`."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from feedback.db import Model

db = SQLAlchemy(model_class=Model)
migrate = Migrate()
mail = Mail()  # settings only: the worker opens its own connections with a timeout (mail.transport)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
