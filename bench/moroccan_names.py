"""Names for benchmark data: common Moroccan first names and family names, in Latin (as civil
status writes them) and Arabic script, so that searches meet realistic key collisions (many
children are called Mohamed, many families Alaoui)."""
from __future__ import annotations

# (Latin, Arabic, sex)
FIRST_NAMES: tuple[tuple[str, str, str], ...] = (
    ('Mohamed', 'محمد', 'M'), ('Ahmed', 'أحمد', 'M'), ('Youssef', 'يوسف', 'M'), ('Omar', 'عمر', 'M'),
    ('Hamza', 'حمزة', 'M'), ('Ayoub', 'أيوب', 'M'), ('Mehdi', 'المهدي', 'M'), ('Anas', 'أنس', 'M'),
    ('Ilyas', 'إلياس', 'M'), ('Adam', 'آدم', 'M'), ('Yassine', 'ياسين', 'M'), ('Othmane', 'عثمان', 'M'),
    ('Zakaria', 'زكرياء', 'M'), ('Soufiane', 'سفيان', 'M'), ('Bilal', 'بلال', 'M'), ('Hicham', 'هشام', 'M'),
    ('Karim', 'كريم', 'M'), ('Rachid', 'رشيد', 'M'), ('Abdelilah', 'عبد الإله', 'M'),
    ('Abdellah', 'عبد الله', 'M'), ('Said', 'سعيد', 'M'), ('Nabil', 'نبيل', 'M'), ('Amine', 'أمين', 'M'),
    ('Ismail', 'إسماعيل', 'M'), ('Walid', 'وليد', 'M'), ('Idriss', 'إدريس', 'M'), ('Taha', 'طه', 'M'),
    ('Khalid', 'خالد', 'M'), ('Fatima', 'فاطمة', 'F'), ('Khadija', 'خديجة', 'F'), ('Aicha', 'عائشة', 'F'),
    ('Meryem', 'مريم', 'F'), ('Salma', 'سلمى', 'F'), ('Hiba', 'هبة', 'F'), ('Imane', 'إيمان', 'F'),
    ('Sara', 'سارة', 'F'), ('Nour', 'نور', 'F'), ('Zineb', 'زينب', 'F'), ('Houda', 'هدى', 'F'),
    ('Asmae', 'أسماء', 'F'), ('Hajar', 'هاجر', 'F'), ('Chaimae', 'شيماء', 'F'), ('Oumaima', 'أميمة', 'F'),
    ('Ikram', 'إكرام', 'F'), ('Kaoutar', 'كوثر', 'F'), ('Soukaina', 'سكينة', 'F'), ('Nadia', 'نادية', 'F'),
    ('Latifa', 'لطيفة', 'F'), ('Rania', 'رانية', 'F'), ('Yasmine', 'ياسمين', 'F'), ('Malak', 'ملاك', 'F'),
    ('Wiam', 'وئام', 'F'), ('Fatima Zahra', 'فاطمة الزهراء', 'F'), ('Ghizlane', 'غزلان', 'F'),
    ('Siham', 'سهام', 'F'), ('Btissam', 'ابتسام', 'F'),
)
FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ('Alaoui', 'العلوي'), ('El Amrani', 'العمراني'), ('Bennani', 'بناني'), ('Tazi', 'التازي'),
    ('Idrissi', 'الإدريسي'), ('Berrada', 'برادة'), ('Chraibi', 'الشرايبي'), ('Fassi', 'الفاسي'),
    ('Kettani', 'الكتاني'), ('Benjelloun', 'بنجلون'), ('Ouazzani', 'الوزاني'), ('Sefrioui', 'الصفريوي'),
    ('Lahlou', 'لحلو'), ('Naciri', 'الناصري'), ('Bouzidi', 'البوزيدي'), ('El Mansouri', 'المنصوري'),
    ('Zerouali', 'الزروالي'), ('Haddad', 'الحداد'), ('Benali', 'بنعلي'), ('Cherkaoui', 'الشرقاوي'),
    ('Tahiri', 'الطاهري'), ('Belhaj', 'بلحاج'), ('Rami', 'رامي'), ('Ait Ali', 'آيت علي'),
    ('Ait Benhaddou', 'آيت بنحدو'), ('Amazigh', 'أمازيغ'), ('El Khatib', 'الخطيب'), ('Moussaoui', 'الموساوي'),
    ('Raji', 'الراجي'), ('Saidi', 'السعيدي'), ('Jabri', 'الجابري'), ('Hamdaoui', 'الحمداوي'),
    ('Skalli', 'السقلي'), ('Lamrini', 'لمريني'), ('Doukkali', 'الدكالي'), ('Filali', 'الفلالي'),
    ('El Ouafi', 'الوافي'), ('Marrakchi', 'المراكشي'), ('Soussi', 'السوسي'), ('Rifi', 'الريفي'),
    ('Zniber', 'زنيبر'), ('Guessous', 'كسوس'), ('Mernissi', 'المرنيسي'), ('Hajji', 'الحجي'),
    ('Yacoubi', 'اليعقوبي'), ('Daoudi', 'الداودي'), ('Bakkali', 'البقالي'), ('Chaoui', 'الشاوي'),
    ('Harrak', 'الحراق'), ('Mabrouk', 'مبروك'), ('El Hachimi', 'الهاشمي'), ('Karimi', 'الكريمي'),
    ('Azzouzi', 'العزوزي'), ('Bouchta', 'بوشتى'), ('Ennaji', 'الناجي'), ('Ouahbi', 'الوهبي'),
    ('Slaoui', 'السلاوي'), ('Touzani', 'التوزاني'), ('Ziani', 'الزياني'), ('Benkirane', 'بنكيران'),
)
