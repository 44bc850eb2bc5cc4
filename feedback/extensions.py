"""Extension objects, created unbound here and bound to an app in `create_app`."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from feedback.db import Model
from feedback.mail.transport import TimeoutMail

db = SQLAlchemy(model_class=Model)
migrate = Migrate()
mail = TimeoutMail()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
