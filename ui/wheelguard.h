// Keeps the mouse wheel from changing a spin box or combo box the pointer
// merely passes over while the form scrolls: such a field takes the wheel
// only once it has keyboard focus (a click or Tab); before that the wheel
// goes on to the scroll area around it.
#pragma once

#include <QObject>

class QWidget;

namespace droplora::ui {

class WheelGuard : public QObject {
    Q_OBJECT

public:
    // Guards every spin box and combo box under `root` (created so far).
    static void install(QWidget* root);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    explicit WheelGuard(QObject* parent) : QObject(parent) {}
};

}  // namespace droplora::ui
