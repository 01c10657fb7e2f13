#include "wheelguard.h"

#include <QAbstractSpinBox>
#include <QComboBox>
#include <QEvent>
#include <QWidget>

namespace droplora::ui {

void WheelGuard::install(QWidget* root) {
    auto* guard = new WheelGuard(root);
    QList<QWidget*> fields;
    for (QAbstractSpinBox* s : root->findChildren<QAbstractSpinBox*>()) fields.append(s);
    for (QComboBox* c : root->findChildren<QComboBox*>()) fields.append(c);
    for (QWidget* field : fields) {
        field->setFocusPolicy(Qt::StrongFocus);  // a wheel over it no longer focuses it
        field->installEventFilter(guard);
    }
}

bool WheelGuard::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::Wheel) {
        auto* field = qobject_cast<QWidget*>(watched);
        if (field && !field->hasFocus()) {
            // Consumed here but not accepted: QApplication offers it to the parents (the scroll area).
            event->ignore();
            return true;
        }
    }
    return QObject::eventFilter(watched, event);
}

}  // namespace droplora::ui
